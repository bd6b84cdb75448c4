"""``shuffle(rng, order)``: ``rng.shuffle(order)``, exactly, in a third of the time.

NumPy's ``Generator.shuffle`` of 10^6 int32 row indices took 12 ms, a tenth of a
one-epoch fit of batch-256 Adam on 10^6 x 100 rows (issue 17); this takes 4. Its
algorithm is Fisher-Yates from the last item, each index ``j <= i`` drawn by
``random_interval``: 32-bit draws masked to the smallest ``2^k - 1 >= i``,
rejected until at most ``i``. PCG64 gives its 32-bit draws as the low then the
high half of each 64-bit output, keeping the high half for the next draw. So the
same swaps can be made from blocks of raw 64-bit outputs (``random_raw``) in a
compiled loop, and the generator then set to where NumPy's shuffle leaves it:
its state before, advanced by the outputs used, with the half left over. The
orders, and so the fits, are the same whichever runs (a test holds them equal).
"""

import numpy as np

from ._kernel import Helper

# Below this many rows NumPy's shuffle costs under a millisecond: it is used as it is.
COMPILED_ROWS = 1 << 16
# Items whose indices are drawn before their swaps are made.
CHUNK = 4096


def fisher_yates(order, top, words, pending):
    """Shuffle ``order[:top + 1]`` as ``Generator.shuffle`` does, from item ``top`` down,
    with the 32-bit draws ``pending`` (when >= 0) and then the halves of ``words``, low
    half first. Returns ``(i, used)``: the item it stopped at for want of draws (0 when
    done) and the halves of ``words`` it used.

    A chunk's indices are drawn first, then its swaps made. The draws take no branch
    on a rejection (a coin toss the processor cannot predict): a draw is written to
    the item's slot whatever it is, and the item moves on only if it was accepted,
    while the mask stays the same down to the next power of two. Drawing and
    swapping in one loop, with the rejection a branch, took twice as long (5.9
    against 2.9 ms at 10^6 items, measured).
    """
    used, available = 0, 2 * len(words)
    js = np.empty(CHUNK, dtype=np.intp)
    i = top
    while i > 0:
        first = i
        end = max(first - CHUNK, 0)
        while i > end:
            mask = np.uint64(i)
            for shift in (1, 2, 4, 8, 16):  # the smallest 2^k - 1 >= i (i < 2^32)
                mask |= mask >> np.uint64(shift)
            low = max(np.intp(mask >> np.uint64(1)), end)  # the same mask down to low + 1
            if pending >= 0:
                draw = np.intp(np.uint64(pending) & mask)
                pending = -1
                js[first - i] = draw
                i -= np.intp(draw <= i)
            while i > low and used < available:
                # The half ``used & 1`` of the word; the mask (< 2^32) drops the other.
                draw = np.intp((words[used >> 1] >> np.uint64(32 * (used & 1))) & mask)
                used += 1
                js[first - i] = draw
                i -= np.intp(draw <= i)
            if used == available:
                break
        for k in range(first, i, -1):
            j = js[first - k]
            order[k], order[j] = order[j], order[k]
        if i > 0 and used == available:
            return i, used
    return 0, used


_fisher_yates = Helper(fisher_yates)


def block_size(n):
    """The 64-bit outputs drawn at a time for ``n`` items (about 0.7 n are used in all):
    at most 2^16 (512 kB, which stay in cache between the draw and the swaps)."""
    return min(3 * n // 4 + 1024, 1 << 16)


def shuffle(rng, order):
    """``rng.shuffle(order)``: the same permutation, and ``rng`` left in the same state
    (compiled for a writable 1-D ``order`` of 2^16 to 2^32 items and a PCG64 ``rng``)."""
    bits = rng.bit_generator
    compiled = (
        max(COMPILED_ROWS, 2) <= len(order) < 1 << 32  # n < 2 draws nothing
        and order.ndim == 1
        and order.flags.writeable
        and type(bits) is np.random.PCG64
    )
    kernel = _fisher_yates.get() if compiled else None
    if kernel is None:
        rng.shuffle(order)
        return
    start = bits.state
    pending = start["uinteger"] if start["has_uint32"] else -1
    top, drawn, block = len(order) - 1, 0, block_size(len(order))
    try:
        while top:
            words = bits.random_raw(block)
            top, used = kernel(order, top, words, pending)
            pending = -1  # the first draw took it (len(order) >= 2)
            drawn += used  # all of the block where it ran out
    except Exception as exc:  # numba failed to compile or load it: nothing has moved yet
        if top != len(order) - 1:
            raise
        _fisher_yates.failed(exc)
        bits.state = start
        rng.shuffle(order)
        return
    state = start
    outputs = (drawn + 1) // 2
    if outputs:
        bits.state = start
        bits.advance(outputs)
        state = bits.state
        state["uinteger"] = int(words[(used - 1) // 2] >> np.uint64(32))  # the last one's
    state["has_uint32"] = drawn % 2
    bits.state = state
