/**
 * Point-E's sample metrics over a point-cloud classifier's outputs (the paper's P-FID and P-IS,
 * there over PointNet++ features; here over Tony's PointNet, classifier.ts):
 *  - P-FID: the Fréchet distance between Gaussians fitted to two feature sets,
 *    |μ₁ − μ₂|² + tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), sample covariances (n − 1), as FID;
 *  - P-IS: exp(E_x KL(p(y | x) ‖ p(y))) over the classifier's class probabilities, as the
 *    Inception score.
 * tr (Σ₁Σ₂)^½ is computed as Σ √λ over the eigenvalues λ of the symmetric Σ₁^½ Σ₂ Σ₁^½ (the same
 * eigenvalues as Σ₁Σ₂), so a symmetric eigensolver (cyclic Jacobi) is all it needs.
 */

/** Eigenvalues and eigenvectors (columns of `vectors`, row-major d × d) of a symmetric matrix. */
export function symmetricEigen(a: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let norm = 0;
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        norm += m[i * d + j]! ** 2;
        if (i !== j) off += m[i * d + j]! ** 2;
      }
    if (off <= 1e-30 * norm || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q]!;
        if (apq === 0) continue;
        // the rotation that zeroes m[p][q] (Golub & Van Loan, Algorithm 8.4.1)
        const theta = (m[q * d + q]! - m[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const mkp = m[k * d + p]!;
          const mkq = m[k * d + q]!;
          m[k * d + p] = c * mkp - s * mkq;
          m[k * d + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < d; k++) {
          const mpk = m[p * d + k]!;
          const mqk = m[q * d + k]!;
          m[p * d + k] = c * mpk - s * mqk;
          m[q * d + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!;
          const vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: d }, (_, i) => m[i * d + i]!), vectors: v };
}

/** Mean (d) and sample covariance (d × d, n − 1) of n feature rows. */
function featureStats(rows: readonly ArrayLike<number>[]): { mean: Float64Array; cov: Float64Array; d: number } {
  const n = rows.length;
  const d = rows[0]!.length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) mean[i]! += r[i]! / n;
  const cov = new Float64Array(d * d);
  for (const r of rows)
    for (let i = 0; i < d; i++) {
      const di = r[i]! - mean[i]!;
      for (let j = i; j < d; j++) cov[i * d + j]! += (di * (r[j]! - mean[j]!)) / (n - 1);
    }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) cov[i * d + j] = cov[j * d + i]!;
  return { mean, cov, d };
}

/** A symmetric PSD matrix's square root (negative eigenvalues from rounding are taken as 0). */
function sqrtPsd(a: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(values[k]!, 0));
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i * d + j]! += s * vectors[i * d + k]! * vectors[j * d + k]!;
  }
  return out;
}

/** The Fréchet distance between Gaussians fitted to two sets of feature rows (P-FID, FID). */
export function frechetDistance(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  const x = featureStats(a);
  const y = featureStats(b);
  const d = x.d;
  const r = sqrtPsd(x.cov, d);
  // M = R Σ₂ R, symmetric
  const rs = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) rs[i * d + j]! += r[i * d + k]! * y.cov[k * d + j]!;
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) m[i * d + j]! += rs[i * d + k]! * r[k * d + j]!;
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j]! + m[j * d + i]!) / 2;
  let trSqrt = 0;
  for (const l of symmetricEigen(m, d).values) trSqrt += Math.sqrt(Math.max(l, 0));
  let dist = 0;
  for (let i = 0; i < d; i++) dist += (x.mean[i]! - y.mean[i]!) ** 2 + x.cov[i * d + i]! + y.cov[i * d + i]!;
  return dist - 2 * trSqrt;
}

/** exp(E_x KL(p(y | x) ‖ p(y))) of class-probability rows (P-IS, the Inception score). */
export function inceptionScore(p: readonly ArrayLike<number>[]): number {
  const k = p[0]!.length;
  const py = new Float64Array(k);
  for (const r of p) for (let i = 0; i < k; i++) py[i]! += r[i]! / p.length;
  let kl = 0;
  for (const r of p) for (let i = 0; i < k; i++) if (r[i]! > 0) kl += (r[i]! * (Math.log(r[i]!) - Math.log(py[i]!))) / p.length;
  return Math.exp(kl);
}
