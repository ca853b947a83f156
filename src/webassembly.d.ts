// The part of the WebAssembly JS API the agent uses (escape-arena.ts). Node,
// Bun and Deno all have it; TypeScript declares it only in its DOM and worker
// libs, which would bring browser globals in with it.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
}
