"""numpy peer for bench/shapes.ts: the same algorithms on the same inputs, timed here.

    python3 bench/shapes.py <workdir>

Reads <workdir>/meta.json and the .bin inputs that bench/shapes.ts wrote; writes
<workdir>/numpy.json with {task: {ms, check}}. Algorithms mirror src/shape:
  mc<N>   marching cubes with Tony's derived case table, vertices shared per grid edge
  sample  area-uniform surface sampling (cumulative areas, binary search, √r barycentrics)
  trace   sphere tracing the sphere+torus SDF, 256 steps max, ε = 2e-4, central-difference normals
  splat   point splats as shaded sphere impostors with a z-buffer
  raster  z-buffered triangle rasterisation with perspective-correct normals
"""
import json
import os
import sys
import time

import numpy as np

work = sys.argv[1]
meta = json.load(open(os.path.join(work, "meta.json")))
REPEATS = meta["repeats"]
out = {}


def timed(fn, repeats=REPEATS):
    ts, res = [], fn()  # warm-up, as on the Tony side
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn()
        ts.append((time.perf_counter() - t0) * 1000)
    return float(np.median(ts)), res


def mesh_area(pos, idx):
    p = pos.astype(np.float64)
    a, b, c = p[idx[:, 0]], p[idx[:, 1]], p[idx[:, 2]]
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()


# ---- marching cubes --------------------------------------------------------------------------
table = meta["table"]
offset = np.array(table["offset"], dtype=np.int64)
tri_edges = np.array(table["edges"], dtype=np.int64)
edge_corners = np.array(table["edgeCorners"], dtype=np.int64)  # (12, 2)
ntri_entries = offset[1:] - offset[:-1]  # edge entries per case (3 per triangle)
# Per local edge: axis, and the offset of its low corner (di, dj, dk).
edge_axis = np.array([e // 4 for e in range(12)])
corner_off = np.array([[c & 1, (c >> 1) & 1, c >> 2] for c in range(8)])  # (8, 3) as (di, dj, dk)
edge_low = corner_off[edge_corners[:, 0]]  # (12, 3)


def marching_cubes(v, lo, spacing):
    nz, ny, nx = v.shape
    inside = v < 0
    case = np.zeros((nz - 1, ny - 1, nx - 1), dtype=np.int64)
    for c in range(8):
        di, dj, dk = corner_off[c]
        case |= inside[dk : nz - 1 + dk, dj : ny - 1 + dj, di : nx - 1 + di].astype(np.int64) << c
    case = case.ravel()
    cells = np.nonzero(ntri_entries[case] > 0)[0]
    cc = case[cells]
    counts = ntri_entries[cc]
    # Expand every active cell into its table entries.
    cell_rep = np.repeat(cells, counts)
    starts = np.repeat(offset[cc], counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    local = tri_edges[starts + within]
    k, rem = np.divmod(cell_rep, (ny - 1) * (nx - 1))
    j, i = np.divmod(rem, nx - 1)
    lo_i = i + edge_low[local, 0]
    lo_j = j + edge_low[local, 1]
    lo_k = k + edge_low[local, 2]
    axis = edge_axis[local]
    gid = ((lo_k * ny + lo_j) * nx + lo_i) * 3 + axis  # a global id per grid edge
    uniq, inverse = np.unique(gid, return_inverse=True)
    g0, ax = np.divmod(uniq, 3)
    vk, vrem = np.divmod(g0, ny * nx)
    vj, vi = np.divmod(vrem, nx)
    flat = v.ravel()
    step = np.array([1, nx, nx * ny])[ax]
    va = flat[g0].astype(np.float64)
    vb = flat[g0 + step].astype(np.float64)
    t = (0 - va) / (vb - va)
    coords = np.stack([vi, vj, vk], axis=1).astype(np.float64)
    coords[np.arange(len(ax)), ax] += t
    positions = (np.asarray(lo) + coords * np.asarray(spacing)).astype(np.float32)
    return positions, inverse.reshape(-1, 3).astype(np.uint32)


lo = np.array(meta["lo"])
hi = np.array(meta["hi"])
for n in meta["mcSizes"]:
    v = np.fromfile(os.path.join(work, f"grid{n}.bin"), dtype=np.float32).reshape(n + 1, n + 1, n + 1)
    spacing = (hi - lo) / n
    ms, (pos, idx) = timed(lambda: marching_cubes(v, lo, spacing), min(REPEATS, 3) if n >= 256 else 3 * REPEATS if n <= 64 else REPEATS)
    out[f"mc{n}"] = {"ms": ms, "check": f"{len(idx)} faces, area {mesh_area(pos, idx):.5f}"}

# ---- surface sampling ------------------------------------------------------------------------
pos128 = np.fromfile(os.path.join(work, "mesh128_pos.bin"), dtype=np.float32).reshape(-1, 3)
idx128 = np.fromfile(os.path.join(work, "mesh128_idx.bin"), dtype=np.uint32).reshape(-1, 3)
rng = np.random.default_rng(1)


def sample_surface(pos, idx, n):
    p = pos.astype(np.float64)
    a, b, c = p[idx[:, 0]], p[idx[:, 1]], p[idx[:, 2]]
    cum = np.cumsum(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1))
    face = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    s = np.sqrt(rng.random(n))[:, None]
    r2 = rng.random(n)[:, None]
    return ((1 - s) * a[face] + s * (1 - r2) * b[face] + s * r2 * c[face]).astype(np.float32)


ms, pts = timed(lambda: sample_surface(pos128, idx128, meta["sampleN"]))
out["sample"] = {"ms": ms, "check": f"{len(pts)} pts from {len(idx128)} faces, mean z {pts[:, 2].mean():.4f}"}

# ---- rendering: camera, lights, scene SDF ---------------------------------------------------
cam = meta["camera"]
W, H = cam["width"], cam["height"]
eye = np.array(cam["eye"], dtype=np.float64)


def normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


f = normalize(np.array(cam["target"]) - eye)
r = normalize(np.cross(f, np.array(cam["up"], dtype=np.float64)))
u = np.cross(r, f)
tanY = np.tan(np.radians(cam["fovY"]) / 2)
tanX = tanY * W / H
AMBIENT = 0.35
LIGHTS = [(normalize(np.array(d)), w) for d, w in [([-0.5, 0.6, 0.62], 0.6), ([0.7, 0.1, 0.7], 0.2)]]
LIGHTS = [(normalize(d[0] * r + d[1] * u - d[2] * f), w) for d, w in LIGHTS]
BG = 1.0

px, py = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
ray_x = ((2 * px / W - 1) * tanX).ravel()
ray_y = ((1 - 2 * py / H) * tanY).ravel()
rays = normalize(f[None] + ray_x[:, None] * r[None] + ray_y[:, None] * u[None])  # (H·W, 3)


def shade(n, view, color):
    s = np.where((n * view).sum(1) > 0, -1.0, 1.0)
    light = AMBIENT + sum(w * np.maximum(0, s * (n @ d)) for d, w in LIGHTS)
    return color * light[:, None]


sph, tor = meta["sphere"], meta["torus"]
RED = np.array([0.85, 0.12, 0.1])
BLUE = np.array([0.12, 0.3, 0.85])


def sdf_parts(p):
    ds = np.linalg.norm(p - np.array(sph["at"]), axis=1) - sph["r"]
    q = p - np.array(tor["at"])
    dt = np.hypot(np.hypot(q[:, 0], q[:, 2]) - tor["R"], q[:, 1]) - tor["r"]
    return ds, dt


def sdf(p):
    ds, dt = sdf_parts(p)
    return np.minimum(ds, dt)


def sphere_trace():
    inv = 1 / rays
    t0 = (lo - eye) * inv
    t1 = (hi - eye) * inv
    t_near = np.maximum(np.minimum(t0, t1).max(1), 0)
    t_far = np.maximum(t0, t1).min(1)
    active = np.nonzero(t_near <= t_far)[0]
    s = t_near[active]
    far = t_far[active]
    hit_idx, hit_s = [], []
    for _ in range(256):
        if len(active) == 0:
            break
        d = sdf(eye + s[:, None] * rays[active])
        hit = d < 2e-4
        hit_idx.append(active[hit])
        hit_s.append(s[hit])
        s = s + d
        keep = ~hit & (s <= far)
        active, s, far = active[keep], s[keep], far[keep]
    idx = np.concatenate(hit_idx)
    s = np.concatenate(hit_s)
    p = eye + s[:, None] * rays[idx]
    h = 1e-4
    n = normalize(np.stack([sdf(p + e) - sdf(p - e) for e in np.eye(3) * h], axis=1))
    ds, dt = sdf_parts(p)
    color = np.where((ds <= dt)[:, None], RED, BLUE)
    img = np.full((H * W, 3), BG)
    img[idx] = shade(n, rays[idx], color)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8), len(idx)


ms, (_, ncov) = timed(sphere_trace)
out["trace"] = {"ms": ms, "check": f"{ncov} px covered"}


def project(p):
    d = p - eye
    zc = d @ f
    sx = ((d @ r) / (zc * tanX) + 1) / 2 * W
    sy = (1 - (d @ u) / (zc * tanY)) / 2 * H
    return sx, sy, zc


splat_xyz = np.fromfile(os.path.join(work, "splat_xyz.bin"), dtype=np.float32).reshape(-1, 3).astype(np.float64)
SPLAT_R = meta["splatRadius"]
focal = H / (2 * tanY)


def splat():
    sx, sy, zc = project(splat_xyz)
    rpx = SPLAT_R * focal / zc
    m = int(np.ceil(rpx.max())) + 1
    pix, depth, nrm = [], [], []
    for oy in range(-m, m + 1):
        for ox in range(-m, m + 1):
            x = np.floor(sx).astype(np.int64) + ox
            y = np.floor(sy).astype(np.int64) + oy
            ux = (x + 0.5 - sx) / rpx
            uy = (y + 0.5 - sy) / rpx
            q = ux * ux + uy * uy
            ok = (q <= 1) & (x >= 0) & (x < W) & (y >= 0) & (y < H)
            uz = np.sqrt(1 - q[ok])
            pix.append(y[ok] * W + x[ok])
            depth.append(zc[ok] - uz * SPLAT_R)
            nrm.append(ux[ok, None] * r - uy[ok, None] * u - uz[:, None] * f)
    pix, depth, nrm = np.concatenate(pix), np.concatenate(depth), np.concatenate(nrm)
    order = np.lexsort((depth, pix))  # nearest first within each pixel
    first = order[np.unique(pix[order], return_index=True)[1]]
    img = np.full((H * W, 3), BG)
    img[pix[first]] = shade(nrm[first], rays[pix[first]], np.full((len(first), 3), 0.7))
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8), len(first)


ms, (_, ncov) = timed(splat)
out["splat"] = {"ms": ms, "check": f"{ncov} px covered"}

pos64 = np.fromfile(os.path.join(work, "mesh64_pos.bin"), dtype=np.float32).reshape(-1, 3).astype(np.float64)
idx64 = np.fromfile(os.path.join(work, "mesh64_idx.bin"), dtype=np.uint32).reshape(-1, 3)


def vertex_normals(pos, idx):
    a, b, c = pos[idx[:, 0]], pos[idx[:, 1]], pos[idx[:, 2]]
    fn = np.cross(b - a, c - a)
    n = np.zeros_like(pos)
    for k in range(3):
        np.add.at(n, idx[:, k], fn)
    return normalize(n)


def raster():
    vn = vertex_normals(pos64, idx64)
    sx, sy, zc = project(pos64)
    depth = np.full(H * W, np.inf)
    normal = np.zeros((H * W, 3))
    for t in range(len(idx64)):
        a, b, c = idx64[t]
        ax, ay, bx, by, cx, cy = sx[a], sy[a], sx[b], sy[b], sx[c], sy[c]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if area == 0:
            continue
        x0 = max(0, int(np.ceil(min(ax, bx, cx) - 0.5)))
        x1 = min(W - 1, int(np.floor(max(ax, bx, cx) - 0.5)))
        y0 = max(0, int(np.ceil(min(ay, by, cy) - 0.5)))
        y1 = min(H - 1, int(np.floor(max(ay, by, cy) - 0.5)))
        if x0 > x1 or y0 > y1:
            continue
        gx, gy = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        w0 = ((bx - gx) * (cy - gy) - (by - gy) * (cx - gx)) / area
        w1 = ((cx - gx) * (ay - gy) - (cy - gy) * (ax - gx)) / area
        w2 = 1 - w0 - w1
        ok = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        if not ok.any():
            continue
        w0, w1, w2 = w0[ok], w1[ok], w2[ok]
        iz = w0 / zc[a] + w1 / zc[b] + w2 / zc[c]
        z = 1 / iz
        o = (gy[ok] - 0.5).astype(np.int64) * W + (gx[ok] - 0.5).astype(np.int64)
        nearer = z < depth[o]
        o, z = o[nearer], z[nearer]
        q0, q1, q2 = (w0[nearer] / zc[a]) / iz[nearer], (w1[nearer] / zc[b]) / iz[nearer], (w2[nearer] / zc[c]) / iz[nearer]
        depth[o] = z
        normal[o] = q0[:, None] * vn[a] + q1[:, None] * vn[b] + q2[:, None] * vn[c]
    hit = np.nonzero(depth < np.inf)[0]
    img = np.full((H * W, 3), BG)
    img[hit] = shade(normalize(normal[hit]), rays[hit], np.full((len(hit), 3), 0.7))
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8), len(hit)


ms, (_, ncov) = timed(raster, max(1, min(REPEATS, 3)))
out["raster"] = {"ms": ms, "check": f"{ncov} px covered ({len(idx64)} faces)"}

json.dump(out, open(os.path.join(work, "numpy.json"), "w"))
