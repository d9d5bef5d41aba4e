"""The benchmark graphs the peer comparisons share (`peers.py`, `gapbs.py`)."""

import numpy as np


def orient(src, dst):
    """True where the bench binary flips edge (src, dst) to dst -> src for the SCC benchmark."""
    with np.errstate(over="ignore"):
        h = (src.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ dst.astype(np.uint64)
        h = h * np.uint64(0xBF58476D1CE4E5B9)
    return (h >> np.uint64(63)) == 1


def kronecker(scale, edge_factor, seed=1):
    """A Graph500 Kronecker (R-MAT a=0.57, b=0.19, c=0.19) graph with randomly relabelled
    vertices, without self-loops or duplicate edges: (nodes, src, dst) with src < dst."""
    rng = np.random.default_rng(seed)
    n, m = 1 << scale, edge_factor << scale
    a, b, c = 0.57, 0.19, 0.19
    src = np.zeros(m, dtype=np.int64)
    dst = np.zeros(m, dtype=np.int64)
    for bit in range(scale):
        r = rng.random(m)
        src_bit = r > a + b
        dst_bit = ((r > a) & (r <= a + b)) | (r > a + b + c)
        src |= src_bit.astype(np.int64) << bit
        dst |= dst_bit.astype(np.int64) << bit
    perm = rng.permutation(n)  # Graph500 relabels vertices randomly
    src, dst = perm[src], perm[dst]
    keep = src != dst
    lo, hi = np.minimum(src[keep], dst[keep]), np.maximum(src[keep], dst[keep])
    pairs = np.unique(lo * n + hi)
    return n, (pairs // n).astype(np.uint32), (pairs % n).astype(np.uint32)


def write_u32(path, src, dst):
    """The edge list as little-endian u32 pairs, the bench binary's input."""
    np.stack([src, dst], axis=1).astype("<u4").tofile(path)
