import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileJavaRegex, compileJavaReplacement, fullMatch, splitNames } from '../src/interceptors/java-regex.ts';

function re(src: string, flags = ''): RegExp {
  const r = compileJavaRegex(src, flags);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
function error(src: string): string {
  const r = compileJavaRegex(src);
  assert.ok(!r.ok, `expected "${src}" to be rejected`);
  return r.ok ? '' : r.error;
}
function replaceAll(pattern: string, replacement: string, text: string): string {
  const r = compileJavaReplacement(replacement, re(pattern, 'g'));
  if (!r.ok) throw new Error(r.error);
  return r.value(text);
}

test('common syntax passes through: classes, groups, alternation, quantifiers, lookaround, backrefs', () => {
  assert.ok(re('^(\\d{1,3}\\.){3}\\d{1,3}$').test('10.0.0.1'));
  assert.ok(re('(?<y>\\d{4})-(?:\\d\\d)').test('2024-01'));
  assert.ok(re('(a)\\1').test('aa'));
  assert.ok(re('foo(?=bar)').test('foobar'));
  assert.ok(re('[^a-c]+?x').test('zzx'));
});

test('leading inline flags become JS flags; elsewhere they are an error', () => {
  assert.ok(re('(?i)error').test('ERROR'));
  assert.ok(re('(?s)a.b').test('a\nb'));
  assert.ok(re('(?im)^x$').test('a\nX\nb'));
  assert.match(error('a(?i)b'), /only supported at the very start/);
  assert.match(error('(?x)a b'), /inline flag \(\?x\)/);
});

test('Java-only constructs are errors, not silent mismatches', () => {
  assert.match(error('a*+'), /possessive/);
  assert.match(error('(?>a)'), /atomic/);
  assert.match(error('[a-z&&[^q]]'), /nested|intersection/);
  assert.match(error('[a[b]]'), /nested/);
  assert.match(error('\\Gx'), /\\G is not supported/);
  assert.match(error('a{'), /illegal repetition/);
});

test('escaped punctuation, lone ] and } are literals as in Java', () => {
  assert.ok(re('\\_\\-\\\'\\<').test("_-'<"));
  assert.ok(re('a]b}').test('a]b}'));
  assert.ok(re('[]x]').test(']'));
  assert.ok(re('[\\w-.]+@').test('a.b-c@'));
});

test('\\Q…\\E quotes, \\A \\z \\Z anchors, and $ before a final line terminator', () => {
  assert.ok(re('\\Q1+1=2?\\E').test('so 1+1=2?'));
  assert.ok(!re('\\Q1+1\\E').test('11'));
  assert.ok(re('\\Afoo').test('foo\nbar'));
  assert.ok(!re('\\Abar').test('foo\nbar'));
  assert.ok(re('bar\\z').test('foo bar'));
  assert.ok(!re('bar\\z').test('bar\n'));
  assert.ok(re('bar\\Z').test('bar\n'));
  assert.ok(re('bar$').test('bar\r\n'));
  assert.ok(!re('bar$').test('bar\nx'));
});

test('POSIX and Unicode property classes, \\h, \\v, \\R, \\e, \\0 octal, \\x{…}', () => {
  assert.ok(re('^\\p{Alpha}+$').test('abcXYZ'));
  assert.ok(!re('^\\p{Alpha}+$').test('abc1'));
  assert.ok(re('^[\\p{Digit}_]+$').test('1_2'));
  assert.ok(re('\\p{Punct}').test('!'));
  assert.ok(re('^\\P{Digit}+$').test('abc'));
  assert.ok(re('^\\p{L}+$').test('héllo'));
  assert.ok(re('^\\p{IsLatin}+$').test('abc'));
  assert.ok(!re('^\\p{IsLatin}+$').test('日本'));
  assert.ok(re('a\\hb').test('a\tb'));
  assert.ok(re('a\\vb').test('a\u2028b'));
  assert.ok(re('^a\\Rb$').test('a\r\nb'));
  assert.ok(re('\\e\\a').test('\x1b\x07'));
  assert.ok(re('\\0101').test('A'));
  assert.ok(re('\\x{1F600}').test('😀'));
  assert.match(error('\\p{javaLowerCase}'), /not supported/);
});

test('. matches a whole code point (like Java)', () => {
  assert.ok(re('^.$').test('😀'));
});

test('replacement: $n takes the longest existing group number; \\ escapes; ${name}', () => {
  assert.is(replaceAll('(a)', '$10', 'a'), 'a0');
  assert.is(replaceAll('(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)', '$10', 'abcdefghij'), 'j');
  assert.is(replaceAll('(a)', '\\$1 \\\\ $1', 'a'), '$1 \\ a');
  assert.is(replaceAll('(?<w>o+)', '[${w}]', 'foo boo'), 'f[oo] b[oo]');
  // JS-special sequences written as Java literals stay literal
  assert.is(replaceAll('x', '\\$&', 'x'), '$&');
  assert.is(replaceAll('(x)', "\\$' $1", 'x'), "$' x");
});

test('replacement: an unmatched optional group is empty; empty matches replace between chars', () => {
  assert.is(replaceAll('a(b)?', '[$1]', 'a ab'), '[] [b]');
  assert.is(replaceAll('x*', '-', 'abc'), '-a-b-c-');
});

test('replacement errors are reported like Java raises them', () => {
  const errs = ['$', 'a\\', '$x', '$2', '${nope}'].map((r) => {
    const c = compileJavaReplacement(r, re('(a)', 'g'));
    return c.ok ? 'ok' : c.error;
  });
  assert.match(errs[0], /group index is missing/);
  assert.match(errs[1], /trailing backslash/);
  assert.match(errs[2], /illegal group reference/);
  assert.match(errs[3], /no group 2/);
  assert.match(errs[4], /no group named "nope"/);
});

test('fullMatch is Java matches(): the whole string, with backtracking into alternatives', () => {
  const m = fullMatch(re('a|ab'));
  assert.ok(m.test('ab'));
  assert.ok(!m.test('abc'));
  assert.ok(!fullMatch(re('(?m)x')).test('x\ny'));
});

test('splitNames: separators with groups are not spliced in; empty names dropped', () => {
  assert.equal(splitNames('a, b ,c,,d', re('\\s*,\\s*')), ['a', 'b', 'c', 'd']);
  assert.equal(splitNames('a;b|c', re('(;|\\|)')), ['a', 'b', 'c']);
});

test.run();
