// WebAssembly text to binary, with wabt (a devDependency: only the build and
// a test compile; the agent loads the committed bytes).
import wabtInit from 'wabt';

export async function wasmFromWat(text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('json-escape.wat', text, { simd: true, bulk_memory: true });
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}
