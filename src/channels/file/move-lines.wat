;; The entries of a Put frame made from a segment of lines (put-lines.ts runs
;; it through LineMover; scripts/build-wasm.ts compiles it into
;; move-lines-wasm.ts). Per line it writes the entry's header and copies the
;; body after it with one memory.copy: the same bytes moveLines writes in
;; JavaScript, where each line's copyWithin was a call into the runtime.
(module
  (memory (export "memory") 1)
  ;; entries(n, st, en, src, dst, frame, count): for line i of n, whose bytes
  ;; are src[st[i], en[i]) (st and en: arrays of i32 at `st` and `en`), writes
  ;; at dst the entry back:u32 (dst - frame) | length:u32 (2 + body) |
  ;; headerCount:u16 (`count`) | body, and goes on after it. Returns the end
  ;; of the last entry. The caller sized the memory for all of it.
  (func (export "entries") (param $n i32) (param $st i32) (param $en i32) (param $src i32) (param $dst i32) (param $frame i32) (param $count i32) (result i32)
    (local $i i32) (local $s i32) (local $len i32)
    (block $done
      (loop $line
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.load (i32.add (local.get $st) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $len (i32.sub (i32.load (i32.add (local.get $en) (i32.shl (local.get $i) (i32.const 2)))) (local.get $s)))
        (i32.store (local.get $dst) (i32.sub (local.get $dst) (local.get $frame)))
        (i32.store offset=4 (local.get $dst) (i32.add (local.get $len) (i32.const 2)))
        (i32.store16 offset=8 (local.get $dst) (local.get $count))
        (memory.copy (i32.add (local.get $dst) (i32.const 10)) (i32.add (local.get $src) (local.get $s)) (local.get $len))
        (local.set $dst (i32.add (local.get $dst) (i32.add (local.get $len) (i32.const 10))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $line)))
    (local.get $dst)))
