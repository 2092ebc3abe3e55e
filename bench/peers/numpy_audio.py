"""The numpy/scipy peer of bench/audio.ts and bench/vocoder.ts: librosa-style STFT/ISTFT and the
fast Griffin-Lim (Perraudin et al. 2013), written in numpy. Reads one JSON line on stdin, prints one.

  {"mode": "audio", ...}    STFT frames/s (numpy and scipy.signal) and one Griffin-Lim run
  {"mode": "gl", ...}       Griffin-Lim at each of `iters` on each signal: seconds and SC
"""
import json
import sys
import time

import numpy as np
import scipy.signal
from numpy.lib.stride_tricks import as_strided

args = json.loads(sys.stdin.readline())
n_fft, hop = args['nFft'], args['hop']
w = scipy.signal.get_window('hann', n_fft, fftbins=True)


def sig(h):
    return np.frombuffer(bytes.fromhex(h), dtype='<f8')


def stft(x):  # librosa.stft (center, zero padding), (frames, bins)
    xp = np.pad(x, n_fft // 2)
    nf = 1 + (len(xp) - n_fft) // hop
    fr = as_strided(xp, shape=(nf, n_fft), strides=(xp.strides[0] * hop, xp.strides[0]))
    return np.fft.rfft(fr * w, axis=1)


def istft(S, length):  # librosa.istft: windowed overlap-add / sum of squared windows
    fr = np.fft.irfft(S, n=n_fft, axis=1) * w
    n = n_fft + hop * (len(S) - 1)
    y = np.zeros(n)
    wss = np.zeros(n)
    for t in range(len(S)):
        y[t * hop:t * hop + n_fft] += fr[t]
        wss[t * hop:t * hop + n_fft] += w * w
    nz = wss > np.finfo(float).tiny
    y[nz] /= wss[nz]
    return y[n_fft // 2:n_fft // 2 + length]


def gl(mag, length, iters, alpha):
    rng = np.random.default_rng(0)
    c = np.exp(2j * np.pi * rng.random(mag.shape))
    tprev = c.copy()
    t = c
    for _ in range(iters):
        c = mag * np.exp(1j * np.angle(c))
        t = stft(istft(c, length))
        c = t + alpha * (t - tprev)
        tprev = t
    sc = np.linalg.norm(mag - np.abs(t)) / np.linalg.norm(mag)
    return istft(mag * np.exp(1j * np.angle(c)), length), sc


def timed(f):
    t0 = time.perf_counter()
    r = f()
    return time.perf_counter() - t0, r


versions = dict(numpy=np.__version__, scipy=scipy.__version__)
if args['mode'] == 'audio':
    xs, xg = sig(args['xs']), sig(args['xg'])
    stft(xs)  # warm up
    np_stft = timed(lambda: stft(xs))[0]
    sp_stft = timed(lambda: scipy.signal.stft(xs, window=w, nperseg=n_fft, noverlap=n_fft - hop, boundary='zeros', padded=False))[0]
    mag = np.abs(stft(xg))
    gl_t, (_, gl_sc) = timed(lambda: gl(mag, len(xg), args['iters'], args['alpha']))
    print(json.dumps(dict(**versions, npStft=np_stft, spStft=sp_stft, gl=gl_t, glSc=float(gl_sc))))
else:  # 'gl': the magnitude is computed outside the timing, as Tony's side does
    runs = {}
    for k in args['iters']:
        secs = 0.0
        for h in args['signals']:
            x = sig(h)
            mag = np.abs(stft(x))
            secs += timed(lambda: gl(mag, len(x), k, args['alpha']))[0]
        runs[str(k)] = secs
    print(json.dumps(dict(**versions, seconds=runs)))
