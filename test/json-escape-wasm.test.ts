import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_ESCAPE_WASM } from '../src/sinks/http/json-escape-wasm.ts';
import { wasmFromWat } from '../scripts/lib/wat.ts';

// The agent loads the committed bytes; they must be what the committed source compiles to.
test('json-escape-wasm.ts is json-escape.wat compiled (run scripts/build-wasm.ts after changing the .wat)', async () => {
  const wat = readFileSync(join(import.meta.dirname, '..', 'src', 'sinks', 'http', 'json-escape.wat'), 'utf8');
  const compiled = Buffer.from(await wasmFromWat(wat));
  assert.ok(compiled.equals(Buffer.from(JSON_ESCAPE_WASM, 'base64')), 'the committed bytes differ from the .wat compiled now');
});

test.run();
