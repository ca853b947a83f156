// The project's WebAssembly modules: each .wat is compiled by
// scripts/build-wasm.ts into <name>-wasm.ts beside it (its bytes as base64).
export const WASM_MODULES = [
  { dir: ['src', 'sinks', 'http'], name: 'json-escape', constant: 'JSON_ESCAPE_WASM' },
  { dir: ['src', 'channels', 'file'], name: 'move-lines', constant: 'MOVE_LINES_WASM' },
] as const;
