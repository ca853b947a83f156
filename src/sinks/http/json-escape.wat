;; One JSON element of the HTTP sink's ndjson/json bodies: a prefix copied
;; from earlier output, a body escaped as a JSON string, `"}` and a separator
;; (escape-arena.ts runs it; scripts/build-wasm.ts compiles it into
;; json-escape-wasm.ts).
;;
;; The body goes sixteen bytes at a time: a block with nothing to escape is
;; stored as it is; otherwise the bytes before the first one to escape are
;; kept, that byte is escaped, and the next block starts right after it.
;; Escaped are `"`, `\` and the bytes below 0x20, as JSON.stringify writes
;; them; bytes of 0x80 and up pass through (the caller checks UTF-8 when the
;; result says some were seen).
(module
  (memory (export "memory") 1)
  ;; element(s, n, o, at, len, sep): writes at o the `len` bytes at `at` (the
  ;; prefix `{"headers":…,"body":"`, where it was written before, or at o
  ;; itself), then src[s, s + n) escaped, then `"}` and the byte `sep`.
  ;; Returns the end of what it wrote, with bit 31 set if a byte of 0x80 or
  ;; more was seen in the body. Reads up to 15 bytes past s + n and writes up
  ;; to 16 past the returned end: the caller leaves room for both. Memory
  ;; [0, 256) holds, for each control byte c, at 8c: the length of its escape,
  ;; then the escape.
  (func (export "element") (param $s i32) (param $n i32) (param $o i32) (param $at i32) (param $len i32) (param $sep i32) (result i32)
    (local $end i32) (local $rem i32) (local $valid i32) (local $v v128) (local $m i32) (local $p i32) (local $c i32) (local $high i32)
    (memory.copy (local.get $o) (local.get $at) (local.get $len))
    (local.set $o (i32.add (local.get $o) (local.get $len)))
    (local.set $end (i32.add (local.get $s) (local.get $n)))
    (block $done
      (loop $block
        (local.set $rem (i32.sub (local.get $end) (local.get $s)))
        (br_if $done (i32.le_s (local.get $rem) (i32.const 0)))
        ;; the lanes that are the body's: all 16, or the first $rem
        (local.set $valid
          (select (i32.const 0xffff)
                  (i32.sub (i32.shl (i32.const 1) (local.get $rem)) (i32.const 1))
                  (i32.ge_u (local.get $rem) (i32.const 16))))
        (local.set $v (v128.load align=1 (local.get $s)))
        (local.set $high (i32.or (local.get $high) (i32.and (i8x16.bitmask (local.get $v)) (local.get $valid))))
        (local.set $m
          (i32.and (local.get $valid)
            (i8x16.bitmask
              (v128.or
                (v128.or
                  (i8x16.lt_u (local.get $v) (i8x16.splat (i32.const 0x20)))
                  (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22))))
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5c)))))))
        (v128.store align=1 (local.get $o) (local.get $v))
        (if (i32.eqz (local.get $m))
          (then
            (local.set $p (select (i32.const 16) (local.get $rem) (i32.ge_u (local.get $rem) (i32.const 16))))
            (local.set $s (i32.add (local.get $s) (local.get $p)))
            (local.set $o (i32.add (local.get $o) (local.get $p)))
            (br $block)))
        ;; keep the bytes before the first to escape, then escape it
        (local.set $p (i32.ctz (local.get $m)))
        (local.set $s (i32.add (local.get $s) (local.get $p)))
        (local.set $o (i32.add (local.get $o) (local.get $p)))
        (local.set $c (i32.load8_u (local.get $s)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (if (i32.lt_u (local.get $c) (i32.const 0x20))
          (then
            (i64.store align=1 (local.get $o) (i64.load align=1 (i32.add (i32.shl (local.get $c) (i32.const 3)) (i32.const 1))))
            (local.set $o (i32.add (local.get $o) (i32.load8_u (i32.shl (local.get $c) (i32.const 3))))))
          (else
            ;; `\` then the byte
            (i32.store16 align=1 (local.get $o) (i32.or (i32.const 0x5c) (i32.shl (local.get $c) (i32.const 8))))
            (local.set $o (i32.add (local.get $o) (i32.const 2)))))
        (br $block)))
    ;; `"` `}` sep (the fourth byte stored is slack)
    (i32.store align=1 (local.get $o) (i32.or (i32.const 0x7d22) (i32.shl (local.get $sep) (i32.const 16))))
    (i32.or (i32.add (local.get $o) (i32.const 3)) (select (i32.const 0x80000000) (i32.const 0) (local.get $high))))
)
