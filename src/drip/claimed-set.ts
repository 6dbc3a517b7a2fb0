/**
 * The subscribers one pass has claimed (pass.ts `claimedEver`), kept as 64-bit fingerprints in one
 * typed array instead of a `Set` of id strings.
 *
 * Why: a pass over N due rows remembers N ids. As a `Set<string>` that is about 100 bytes of V8
 * heap per id (the 36-character string and the table entry), 30 MB at 300,000, all live until the
 * pass ends; V8 then lets the heap grow to a multiple of what is live before it collects, so the
 * pass's peak memory grew with N (bench:memory). Here an id costs 11–21 bytes (8-byte slots, the
 * table between 37.5 % and 75 % full), outside the V8 heap (an ArrayBuffer), so the garbage
 * collector's limit no longer grows with the pass.
 *
 * Two different ids share a fingerprint with probability about n² / 2⁶⁵ (3 × 10⁻⁹ at a million
 * ids); the cost of that would be one row held to the end of the pass and claimed by the next, as
 * a row really claimed twice is.
 */
export class ClaimedSet {
  /** Pairs of 32-bit halves; (0, 0) marks an empty slot. */
  private slots = new Uint32Array(2 * 1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(id: string): boolean {
    const [a, b] = fingerprint(id);
    return this.slotOf(a, b, this.slots) >= 0;
  }

  /** Adds `id`; adding it again changes nothing. */
  add(id: string): this {
    const [a, b] = fingerprint(id);
    if (this.slotOf(a, b, this.slots) >= 0) return this;
    if ((this.count + 1) * 4 > (this.slots.length / 2) * 3) this.grow();
    insert(this.slots, a, b);
    this.count++;
    return this;
  }

  /** The slot index holding (a, b), or -1. */
  private slotOf(a: number, b: number, slots: Uint32Array): number {
    const mask = slots.length / 2 - 1;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      const x = slots[2 * i]!;
      const y = slots[2 * i + 1]!;
      if (x === 0 && y === 0) return -1;
      if (x === a && y === b) return i;
    }
  }

  private grow() {
    const old = this.slots;
    const slots = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) insert(slots, old[i]!, old[i + 1]!);
    this.slots = slots;
  }
}

function insert(slots: Uint32Array, a: number, b: number) {
  const mask = slots.length / 2 - 1;
  let i = a & mask;
  while (slots[2 * i] !== 0 || slots[2 * i + 1] !== 0) i = (i + 1) & mask;
  slots[2 * i] = a;
  slots[2 * i + 1] = b;
}

/** Two independent 32-bit FNV-1a hashes of the UTF-16 code units (different offset bases), never both 0. */
function fingerprint(id: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a >>>= 0;
  b >>>= 0;
  return a === 0 && b === 0 ? [1, 0] : [a, b];
}
