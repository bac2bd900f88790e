/**
 * Slab arena: values and keys live in 1 MiB pages carved into size classes
 * (memcached-style), so a million entries are a few hundred page objects for
 * the garbage collector instead of a million Buffers. Items larger than the
 * biggest class get their own Uint8Array.
 *
 * A ref is a number: pageIndex * PAGE_SIZE + offset for slab chunks, or
 * -(largeIndex + 1) for large items.
 */

export const PAGE_SIZE = 1 << 20;
const MIN_CHUNK = 16;
const GROWTH = 1.125;

/**
 * Fine classes for small items (8-byte steps to 256 B, 16 to 512 B, 32 to
 * 1 KiB; waste is at most a few percent where most cache values live), then
 * 12.5% geometric growth.
 */
function buildClasses(): Int32Array {
  const sizes: number[] = [];
  let size = MIN_CHUNK;
  while (size < PAGE_SIZE / 8) {
    sizes.push(size);
    const step = size < 256 ? 8 : size < 512 ? 16 : size < 1024 ? 32 : 0;
    size = step ? size + step : Math.ceil((size * GROWTH) / 64) * 64;
  }
  sizes.push(PAGE_SIZE / 8, PAGE_SIZE / 4, PAGE_SIZE / 2, PAGE_SIZE);
  return Int32Array.from(sizes);
}

/** Chunk sizes of every class, ascending. */
export const CLASS_SIZES = buildClasses();

/** Index of the smallest class that fits `size` bytes, or -1 when it needs a large item. */
export function classFor(size: number): number {
  if (size > PAGE_SIZE) return -1;
  let lo = 0;
  let hi = CLASS_SIZES.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (CLASS_SIZES[mid]! >= size) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Size-class allocator over 1 MiB pages. */
export class SlabArena {
  readonly pages: Uint8Array[] = [];
  private readonly large: (Uint8Array | null)[] = [];
  private readonly freeLarge: number[] = [];
  private readonly freeChunks: number[][] = [];
  private readonly bumpPage = new Int32Array(CLASS_SIZES.length).fill(-1);
  private readonly bumpOffset = new Int32Array(CLASS_SIZES.length);
  /** Bytes handed out (chunk sizes, not requested sizes). */
  usedBytes = 0;
  /** Bytes reserved from the runtime (pages + large items). */
  reservedBytes = 0;

  constructor() {
    for (let i = 0; i < CLASS_SIZES.length; i++) this.freeChunks.push([]);
  }

  /** Allocates room for `size` bytes and returns its ref. */
  alloc(size: number): number {
    const cls = classFor(size);
    if (cls < 0) {
      const item = new Uint8Array(size);
      this.usedBytes += size;
      this.reservedBytes += size;
      const slot = this.freeLarge.pop();
      if (slot !== undefined) {
        this.large[slot] = item;
        return -(slot + 1);
      }
      this.large.push(item);
      return -this.large.length;
    }
    const chunk = CLASS_SIZES[cls]!;
    this.usedBytes += chunk;
    const free = this.freeChunks[cls]!;
    if (free.length > 0) return free.pop()!;
    let page = this.bumpPage[cls]!;
    let offset = this.bumpOffset[cls]!;
    if (page < 0 || offset + chunk > PAGE_SIZE) {
      page = this.pages.length;
      this.pages.push(new Uint8Array(PAGE_SIZE));
      this.reservedBytes += PAGE_SIZE;
      offset = 0;
      this.bumpPage[cls] = page;
    }
    this.bumpOffset[cls] = offset + chunk;
    return page * PAGE_SIZE + offset;
  }

  /** Returns the chunk behind `ref` (allocated for `size` bytes) to its class. */
  free(ref: number, size: number): void {
    if (ref < 0) {
      const slot = -ref - 1;
      this.large[slot] = null;
      this.freeLarge.push(slot);
      this.usedBytes -= size;
      this.reservedBytes -= size;
      return;
    }
    const cls = classFor(size);
    this.usedBytes -= CLASS_SIZES[cls]!;
    this.freeChunks[cls]!.push(ref);
  }

  /** True when a chunk for `size` bytes can hold `newSize` bytes too (in-place update). */
  static sameClass(size: number, newSize: number): boolean {
    const a = classFor(size);
    return a >= 0 && a === classFor(newSize);
  }

  /** The buffer holding `ref`. Pair with {@link offsetOf}. */
  bufferOf(ref: number): Uint8Array {
    return ref < 0 ? this.large[-ref - 1]! : this.pages[Math.floor(ref / PAGE_SIZE)]!;
  }

  /** Offset of `ref` inside {@link bufferOf}. */
  offsetOf(ref: number): number {
    return ref < 0 ? 0 : ref % PAGE_SIZE;
  }

  /** Bytes a chunk for `size` bytes occupies. */
  static chunkSize(size: number): number {
    const cls = classFor(size);
    return cls < 0 ? size : CLASS_SIZES[cls]!;
  }
}
