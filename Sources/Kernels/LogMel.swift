// Whisper's log-mel spectrogram, computed as faster-whisper's FeatureExtractor does (which
// matches openai/whisper): 16 kHz mono samples, `padding` zeros appended, periodic Hann
// window of 400, centred STFT with reflect padding (n_fft 400, hop 160), the last frame
// dropped, power spectrum, 80-bin Slaney-scale / Slaney-normalised mel filterbank,
// log10(max(x, 1e-10)), floor at (global max - 8), then (x + 4) / 4.
// Output (80, frames) mel-major, frames = (samples + padding) / 160.
// The 400-point DFT runs as a mixed-radix (2·2·2·2·5·5) FFT in Double, so the result is at
// least as accurate as the reference's float32 pocketfft; frames are split over the pool.
import Foundation

public struct LogMelSpectrogram: Sendable {
    public static let sampleRate = 16_000
    public static let nFFT = 400
    public static let hop = 160
    public static let bins = nFFT / 2 + 1 // 201
    public let melCount: Int
    /// (melCount, bins) Slaney filterbank, rounded to Float as the reference does.
    public let filters: [Float]
    /// (nFFT) periodic Hann window, rounded to Float.
    public let window: [Float]
    private let twiddleRe: [Double] // (nFFT) cos(-2πt/n)
    private let twiddleIm: [Double] // (nFFT) sin(-2πt/n)

    public init(melCount: Int = 80) {
        self.melCount = melCount
        filters = Self.slaneyFilterbank(melCount: melCount)
        let n = Self.nFFT
        window = (0..<n).map { Float(0.5 - 0.5 * Foundation.cos(2 * Double.pi * Double($0) / Double(n))) }
        twiddleRe = (0..<n).map { Foundation.cos(-2 * Double.pi * Double($0) / Double(n)) }
        twiddleIm = (0..<n).map { Foundation.sin(-2 * Double.pi * Double($0) / Double(n)) }
    }

    /// Frames produced for `samples` input samples and `padding` appended zeros.
    public static func frameCount(samples: Int, padding: Int = hop) -> Int { (samples + padding) / hop }

    /// The log-mel (melCount, frames) of `samples`.
    public func compute(_ samples: [Float], padding: Int = LogMelSpectrogram.hop, pool: ThreadPool = .shared) -> (mel: [Float], frames: Int) {
        let n = Self.nFFT, hop = Self.hop, half = n / 2, bins = Self.bins
        // (samples + padding) with reflect padding of n/2 on both sides, as torch.stft(center=True).
        let length = samples.count + padding
        let frames = length / hop
        guard frames > 0 else { return ([], 0) }
        var padded = [Float](repeating: 0, count: length + 2 * half) // (length + n)
        for i in 0..<samples.count { padded[half + i] = samples[i] }
        func reflect(_ i: Int) -> Int { // index into the unpadded signal, mirrored without repeating the edge
            guard length > 1 else { return 0 }
            let period = 2 * (length - 1)
            var j = i % period
            if j < 0 { j += period }
            return j < length ? j : period - j
        }
        for i in 0..<half {
            padded[half - 1 - i] = padded[half + reflect(i + 1)]
            padded[half + length + i] = padded[half + reflect(length - 2 - i)]
        }
        var power = [Float](repeating: 0, count: frames * bins) // (frames, bins)
        var mel = [Float](repeating: 0, count: melCount * frames) // (mels, frames)
        padded.withUnsafeBufferPointer { src in
            power.withUnsafeMutableBufferPointer { pw in
                let srcP = src.baseAddress!, pwP = pw.baseAddress!
                pool.parallelFor(frames, minChunk: 64) { range in
                    var fft = FFTScratch(n: n)
                    var frame = [Float](repeating: 0, count: n)
                    for f in range {
                        // Window product in Float, as the reference multiplies float32 arrays.
                        for i in 0..<n { frame[i] = srcP[f * hop + i] * window[i] }
                        fft.transform(frame, twiddleRe: twiddleRe, twiddleIm: twiddleIm)
                        for k in 0..<bins {
                            let re = Float(fft.outRe[k]), im = Float(fft.outIm[k])
                            let mag = (re * re + im * im).squareRoot() // |z| in complex64, then squared
                            pwP[f * bins + k] = mag * mag
                        }
                    }
                }
            }
        }
        // mel (mels, frames) = filters (mels, bins) · powerᵀ, accumulated in Double.
        filters.withUnsafeBufferPointer { fb in
            power.withUnsafeBufferPointer { pw in
                mel.withUnsafeMutableBufferPointer { out in
                    let fbP = fb.baseAddress!, pwP = pw.baseAddress!, outP = out.baseAddress!
                    let mels = melCount
                    pool.parallelFor(frames, minChunk: 64) { range in
                        for f in range {
                            for m in 0..<mels {
                                var s = 0.0
                                let row = fbP + m * bins, col = pwP + f * bins
                                for k in 0..<bins { s += Double(row[k]) * Double(col[k]) }
                                outP[m * frames + f] = Float(Foundation.log10(Swift.max(s, 1e-10)))
                            }
                        }
                    }
                }
            }
        }
        let top = mel.max() ?? 0
        let floor = top - 8
        for i in 0..<mel.count { mel[i] = (Swift.max(mel[i], floor) + 4) / 4 }
        return (mel, frames)
    }

    /// librosa / whisper `mel_filters` with htk=false, norm="slaney", fmin 0, fmax sr/2.
    static func slaneyFilterbank(melCount: Int) -> [Float] {
        let bins = Self.bins
        let fftFreqs = (0..<bins).map { Double($0) * Double(sampleRate) / Double(nFFT) }
        let maxMel = 45.245640471924965 // hz_to_mel(8000) on the Slaney scale
        let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp, logStep = Foundation.log(6.4) / 27
        let points = melCount + 2
        let freqs: [Double] = (0..<points).map { i in
            let m = i == points - 1 ? maxMel : Double(i) * (maxMel / Double(points - 1))
            return m >= minLogMel ? minLogHz * Foundation.exp(logStep * (m - minLogMel)) : fSp * m
        }
        var w = [Float](repeating: 0, count: melCount * bins)
        for m in 0..<melCount {
            let lowerDiff = freqs[m + 1] - freqs[m], upperDiff = freqs[m + 2] - freqs[m + 1]
            let enorm = 2 / (freqs[m + 2] - freqs[m])
            for k in 0..<bins {
                let lower = -(freqs[m] - fftFreqs[k]) / lowerDiff
                let upper = (freqs[m + 2] - fftFreqs[k]) / upperDiff
                w[m * bins + k] = Float(Swift.max(0, Swift.min(lower, upper)) * enorm)
            }
        }
        return w
    }
}

/// Recursive mixed-radix decimation-in-time FFT for one transform size, scratch owned.
struct FFTScratch {
    let n: Int
    var outRe: [Double], outIm: [Double]
    private var tmpRe: [Double], tmpIm: [Double]
    private var inRe: [Double]

    init(n: Int) {
        self.n = n
        outRe = .init(repeating: 0, count: n); outIm = .init(repeating: 0, count: n)
        tmpRe = .init(repeating: 0, count: n); tmpIm = .init(repeating: 0, count: n)
        inRe = .init(repeating: 0, count: n)
    }

    /// out = DFT(x) for real x (n).
    mutating func transform(_ x: [Float], twiddleRe: [Double], twiddleIm: [Double]) {
        for i in 0..<n { inRe[i] = Double(x[i]) }
        let total = n
        inRe.withUnsafeBufferPointer { xin in
            outRe.withUnsafeMutableBufferPointer { ore in
                outIm.withUnsafeMutableBufferPointer { oim in
                    tmpRe.withUnsafeMutableBufferPointer { tre in
                        tmpIm.withUnsafeMutableBufferPointer { tim in
                            twiddleRe.withUnsafeBufferPointer { wr in
                                twiddleIm.withUnsafeBufferPointer { wi in
                                    Self.fft(xin.baseAddress!, stride: 1, n: total, total: total, outRe: ore.baseAddress!,
                                             outIm: oim.baseAddress!, tmpRe: tre.baseAddress!, tmpIm: tim.baseAddress!,
                                             wr: wr.baseAddress!, wi: wi.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static func smallestFactor(_ n: Int) -> Int {
        var p = 2
        while p * p <= n { if n % p == 0 { return p }; p += 1 }
        return n
    }

    /// out[0..<n] = DFT of x[0], x[stride], ..., x[(n-1)·stride]; tmp is n-element scratch.
    private static func fft(_ x: UnsafePointer<Double>, stride: Int, n: Int, total: Int,
                            outRe: UnsafeMutablePointer<Double>, outIm: UnsafeMutablePointer<Double>,
                            tmpRe: UnsafeMutablePointer<Double>, tmpIm: UnsafeMutablePointer<Double>,
                            wr: UnsafePointer<Double>, wi: UnsafePointer<Double>) {
        if n == 1 { outRe[0] = x[0]; outIm[0] = 0; return }
        let p = smallestFactor(n), m = n / p
        // Sub-transforms of the p decimated sequences land in out[j*m ..< (j+1)*m]; tmp is
        // reused by the children because they finish before this level needs it.
        for j in 0..<p {
            fft(x + j * stride, stride: stride * p, n: m, total: total, outRe: outRe + j * m, outIm: outIm + j * m,
                tmpRe: tmpRe, tmpIm: tmpIm, wr: wr, wi: wi)
        }
        let step = total / n
        for k in 0..<m {
            for q in 0..<p {
                let idx = k + m * q
                var sr = 0.0, si = 0.0
                for j in 0..<p {
                    let t = (j * idx % n) * step
                    let yr = outRe[j * m + k], yi = outIm[j * m + k]
                    sr += yr * wr[t] - yi * wi[t]
                    si += yr * wi[t] + yi * wr[t]
                }
                tmpRe[idx] = sr; tmpIm[idx] = si
            }
        }
        outRe.update(from: tmpRe, count: n)
        outIm.update(from: tmpIm, count: n)
    }
}
