import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { configText, javaTrim, parseProperties } from '../src/config/properties.ts';

/** key → value of the parsed lines (the last wins, like Java), plus the lines. */
function parse(text: string) {
  const r = parseProperties(text);
  const map: Record<string, string> = {};
  for (const l of r.lines) map[l.key] = l.value;
  return { ...r, map };
}

test('separators: =, : and whitespace, with whitespace around = and : skipped', () => {
  const { map } = parse('a=1\nb:2\nc 3\nd\t4\ne  =  5\nf\t:\t6\ng = = 7\nh : : 8\ni   9 \n');
  assert.equal(map, { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6', g: '= 7', h: ': 8', i: '9 ' });
});

test('the first unescaped separator ends the key; later ones belong to the value', () => {
  const { map } = parse('url=http://host:80/a=b\nk:v=w\nx y=z\n');
  assert.equal(map, { url: 'http://host:80/a=b', k: 'v=w', x: 'y=z' });
});

test('a key alone has an empty value, with or without separator', () => {
  const { map } = parse('alone\nwith=\nwithcolon:\nspaced   \n');
  assert.equal(map, { alone: '', with: '', withcolon: '', spaced: '' });
});

test('empty key: a line starting with a separator', () => {
  const { map } = parse('=v\n:w\n');
  assert.equal(map, { '': 'w' });
});

test('# and ! comments, only at the start of a logical line (after whitespace)', () => {
  const { lines } = parse('# c1\n! c2\n   # c3\n\t! c4\na=b # not a comment\nc=#d\n');
  assert.equal(lines.map((l) => [l.key, l.value]), [['a', 'b # not a comment'], ['c', '#d']]);
});

test('a comment line ending in a backslash does not continue', () => {
  const { map } = parse('# comment \\\nkey=value\n');
  assert.equal(map, { key: 'value' });
});

test('leading whitespace stripped, trailing whitespace of the value kept', () => {
  const { map } = parse('   \t\fkey = value  \t\n');
  assert.equal(map, { key: 'value  \t' });
});

test('blank and whitespace-only lines are skipped', () => {
  const { lines } = parse('\n\n   \n\t\na=1\n\n\nb=2');
  assert.equal(lines, [{ key: 'a', value: '1', line: 5 }, { key: 'b', value: '2', line: 8 }]);
});

test('continuation: odd trailing backslashes continue, leading whitespace of the next line dropped', () => {
  const { map } = parse('list = a b \\\n        c d\nk = one\\\ntwo\\\n   three\n');
  assert.equal(map, { list: 'a b c d', k: 'onetwothree' });
});

test('continuation: even trailing backslashes are literal backslashes and do not continue', () => {
  const { map } = parse('two = x\\\\\nnext = y\nthree = p\\\\\\\nq\nfour = r\\\\\\\\\n');
  assert.equal(map, { two: 'x\\', next: 'y', three: 'p\\q', four: 'r\\\\' });
});

test('continuation: a blank line ends it; at end of file the backslash is dropped', () => {
  const { map } = parse('a = 1\\\n\nb = 2\\');
  assert.equal(map, { a: '1', b: '2' });
});

test('continuation: # or ! at the start of a continued line is data, not a comment', () => {
  const { map } = parse('a = x\\\n  # y\n');
  assert.equal(map, { a: 'x# y' });
});

test('continuation can join the key and the value', () => {
  const { map } = parse('long\\\n  key\\\n  = v\n');
  assert.equal(map, { longkey: 'v' });
});

test('line numbers: the line where the logical line starts, also for continued lines', () => {
  const { lines } = parse('# header\n\na = 1\nb = 2 \\\n  3 \\\n  4\nc = 5\n  d = 6\n');
  assert.equal(lines.map((l) => [l.key, l.line]), [['a', 3], ['b', 4], ['c', 7], ['d', 8]]);
});

test('CRLF and CR line endings, also in continuations and comments', () => {
  const crlf = parse('# c\r\na = 1\r\nb = 2 \\\r\n  3\r\n\r\nc = 4\r\n');
  assert.equal(crlf.lines, [
    { key: 'a', value: '1', line: 2 },
    { key: 'b', value: '2 3', line: 3 },
    { key: 'c', value: '4', line: 6 },
  ]);
  const cr = parse('# c\ra = 1\rb = 2 \\\r  3\r\rc = 4');
  assert.equal(cr.lines, crlf.lines);
});

test('escapes: \\t \\n \\r \\f \\\\ \\= \\: \\# \\! and escaped space', () => {
  const { map } = parse('k = a\\tb\\nc\\rd\\fe\\\\f\\=g\\:h\\#i\\!j\\ k\n');
  assert.equal(map.k, 'a\tb\nc\rd\fe\\f=g:h#i!j k');
});

test('escaped separators and spaces belong to the key', () => {
  const { map } = parse('a\\=b = 1\nc\\:d : 2\ne\\ f 3\n\\#g = 4\n\\!h = 5\n');
  assert.equal(map, { 'a=b': '1', 'c:d': '2', 'e f': '3', '#g': '4', '!h': '5' });
});

test('escaped leading and trailing spaces of a value survive', () => {
  const { map } = parse('k = \\  x \\ \n');
  assert.equal(map.k, '  x  ');
});

test('an unknown escape \\x is x (so a regex needs doubled backslashes, as in Flume)', () => {
  const { map } = parse('regex = \\d+\\.\\w\nok = \\\\d+\n');
  assert.equal(map, { regex: 'd+.w', ok: '\\d+' });
});

test('\\uXXXX gives real Unicode, including surrogate pairs; upper and lower hex', () => {
  const { map } = parse('k = \\u00e9\\u00C9\\u4e2d \\uD83D\\uDE00\n\\u0041key = v\n');
  assert.equal(map, { k: 'éÉ中 😀', Akey: 'v' });
});

test('a malformed \\u escape is a problem with its line; the other properties survive', () => {
  const r = parse('a = 1\nbad = x\\u12G4\nshort = \\u12\nc = 3\n');
  assert.equal(r.map, { a: '1', c: '3' });
  assert.equal(r.problems.map((p) => p.line), [2, 3]);
  assert.match(r.problems[0].message, /malformed \\uXXXX escape "\\u12G4"/);
});

test('latin1 text (bytes ≥ 0x80 as read with readFileSync(file, "latin1")) passes through', () => {
  const bytes = Buffer.from('k = caf\u00e9\n', 'latin1');
  assert.equal(parse(bytes.toString('latin1')).map.k, 'café');
});

test('duplicate keys: every entry is returned in order, the last one is the value', () => {
  const r = parse('k = 1\nk = 2\n');
  assert.equal(r.lines.map((l) => [l.value, l.line]), [['1', 1], ['2', 2]]);
  assert.equal(r.map.k, '2');
});

test('a UTF-8 byte order mark at the start is skipped (as U+FEFF or as latin1 chars)', () => {
  assert.equal(parse('\ufeffa = 1\n').map, { a: '1' });
  assert.equal(parse(Buffer.from('\ufeffa = 1\n', 'utf8').toString('latin1')).map, { a: '1' });
});

test('the Flume seed config parses to its 12 keys with their lines', () => {
  const text = [
    '# The classic first Flume agent',
    'agent.sources = source1',
    'agent.channels = channel1',
    'agent.sinks = sink1',
    '',
    'agent.sources.source1.type = netcat',
    'agent.sources.source1.bind = localhost',
    'agent.sources.source1.port = 44444',
    'agent.channels.channel1.type = memory',
    'agent.channels.channel1.capacity = 1000',
    'agent.channels.channel1.transactionCapacity = 100',
    'agent.sinks.sink1.type = logger',
    'agent.sources.source1.channels = channel1',
    'agent.sinks.sink1.channel = channel1',
  ].join('\n');
  const r = parse(text);
  assert.is(r.lines.length, 12);
  assert.equal(r.lines[0], { key: 'agent.sources', value: 'source1', line: 2 });
  assert.equal(r.lines[11], { key: 'agent.sinks.sink1.channel', value: 'channel1', line: 14 });
});

test('javaTrim trims chars <= U+0020 only, like String.trim()', () => {
  assert.is(javaTrim(' \t\u0000a b\u0001\r\n '), 'a b');
  assert.is(javaTrim('\u00a0x\u00a0'), '\u00a0x\u00a0');
  assert.is(javaTrim('   '), '');
});

/** Java's Properties.store escaping (saveConvert), to round-trip any key and value. */
function store(s: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const code = s.charCodeAt(i);
    if (c === ' ') out += i === 0 || isKey ? '\\ ' : ' ';
    else if (c === '\t') out += '\\t';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\f') out += '\\f';
    else if ('=:#!\\'.includes(c)) out += `\\${c}`;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return out;
}

test('model: whatever Properties.store writes, parseProperties reads back (with random layout)', () => {
  const text = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\t', '\n', '\r', '\f', '=', ':', '#', '!', '\\', 'é', '😀', '\u0001', 'u') , maxLength: 12 });
  const sep = fc.constantFrom('=', ' = ', ':', ' : ', ' ', '\t', '  =');
  const eol = fc.constantFrom('\n', '\r\n', '\r');
  const entry = fc.record({ key: text, value: text, sep, eol, indent: fc.constantFrom('', '  ', '\t'), comment: fc.boolean() });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
      let src = '';
      let line = 1;
      const expected: { key: string; value: string; line: number }[] = [];
      for (const e of entries) {
        if (e.comment) {
          src += `${e.indent}# ${e.key.replace(/[\r\n]/g, '')}\\${e.eol}`;
          line++;
        }
        // a key that stores as '' would make the separator the key's end: keep the sample simple
        // Properties.store always writes '=', so an empty key is never mistaken for leading whitespace
        const s = e.key === '' ? '=' : e.sep;
        src += `${e.indent}${store(e.key, true)}${s}${store(e.value, false)}${e.eol}`;
        expected.push({ key: e.key, value: e.value, line });
        line++;
      }
      const r = parseProperties(src);
      assert.equal(r.problems, []);
      assert.equal(r.lines, expected);
    }),
    { numRuns: 300 },
  );
});

test('a config file reads as UTF-8 when it is valid UTF-8, else as ISO-8859-1 as Flume reads it', () => {
  assert.is(configText(Buffer.from('k = café 日本\n', 'utf8')), 'k = café 日本\n');
  // a latin1 é alone is not UTF-8: one byte, one char, as in Java
  assert.is(configText(Buffer.from('k = caf\u00e9\n', 'latin1')), 'k = café\n');
  assert.is(configText(Buffer.from('k = plain\n')), 'k = plain\n');
  assert.equal(parse(configText(Buffer.from('\ufeffk = é\n', 'utf8'))).map, { k: 'é' });
});

test.run();
