import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_ESCAPE_WASM } from '../src/sinks/http/json-escape-wasm.ts';
import { MOVE_LINES_WASM } from '../src/channels/file/move-lines-wasm.ts';
import { wasmFromWat } from '../scripts/lib/wat.ts';
import { WASM_MODULES } from '../scripts/lib/wasm-modules.ts';

const committed: Record<(typeof WASM_MODULES)[number]['constant'], string> = { JSON_ESCAPE_WASM, MOVE_LINES_WASM };

// The agent loads the committed bytes; they must be what the committed source compiles to.
for (const m of WASM_MODULES) {
  test(`${m.name}-wasm.ts is ${m.name}.wat compiled (run scripts/build-wasm.ts after changing the .wat)`, async () => {
    const wat = readFileSync(join(import.meta.dirname, '..', ...m.dir, `${m.name}.wat`), 'utf8');
    const compiled = Buffer.from(await wasmFromWat(wat));
    assert.ok(compiled.equals(Buffer.from(committed[m.constant], 'base64')), 'the committed bytes differ from the .wat compiled now');
  });
}

test.run();
