/**
 * A seeded pseudo-random number generator for the chaos suite: the same seed gives the same load and the same fault
 * schedule (times, kinds, targets, durations), so a failing run can be repeated with `--seed`. Mulberry32 (Tommy
 * Ettinger's 32-bit generator, public domain): small, fast, good enough for scheduling; not for cryptography.
 */

/** Random numbers from a seed. Each `fork` gives an independent stream, so one actor's draws do not shift another's. */
export class Prng {
  #state: number;

  /** @param seed any integer (only its low 32 bits matter). */
  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `items` (non-empty). */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** `items` shuffled (Fisher-Yates), a new array. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** An independent generator derived from this seed and `label` (FNV-1a of the label mixed into the seed). */
  fork(label: string): Prng {
    let h = 0x811c9dc5 ^ this.seed;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    return new Prng(h >>> 0);
  }
}
