// Gating a recogniser with VAD: the speech regions of a recording are cut out and joined
// ("gathered") so the recogniser only decodes speech, and times in the gathered audio are
// mapped back to the original recording (the approach of faster-whisper's collect_chunks /
// SpeechTimestampsMap). Regions must be sorted and disjoint, as `SpeechRegions.detect`
// returns them.
//
// Mapping: a gathered position inside region k maps to k's original start plus the offset.
// A position exactly on the seam between regions k and k+1 is ambiguous; a start time maps to
// the start of k+1 and an end time to the end of k, so a word never stretches over the
// silence that was removed.
public struct SpeechTimeline: Sendable, Hashable {
    public let regions: [SpeechRegion]
    /// (regions) gathered-audio sample where each region ends.
    private let gatheredEnds: [Int]

    public init(regions: [SpeechRegion]) {
        self.regions = regions
        var total = 0
        gatheredEnds = regions.map { region in
            total += max(0, region.endSample - region.startSample)
            return total
        }
    }

    /// Number of samples of gathered speech.
    public var gatheredSampleCount: Int { gatheredEnds.last ?? 0 }

    /// The samples of every region, in order, joined (clamped to the recording).
    public func gather(_ samples: [Float]) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(gatheredSampleCount)
        for region in regions {
            let start = min(max(0, region.startSample), samples.count)
            let end = min(max(start, region.endSample), samples.count)
            out += samples[start..<end]
        }
        return out
    }

    /// Original sample of gathered sample `s`; `isEnd` picks the earlier region on a seam.
    public func originalSample(ofGathered s: Int, isEnd: Bool = false) -> Int {
        guard !regions.isEmpty else { return s }
        // First region whose gathered end is beyond s (start) or at/beyond s (end).
        var lo = 0, hi = gatheredEnds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if isEnd ? gatheredEnds[mid] < s : gatheredEnds[mid] <= s { lo = mid + 1 } else { hi = mid }
        }
        let k = min(lo, regions.count - 1)
        let gatheredStart = k == 0 ? 0 : gatheredEnds[k - 1]
        return regions[k].startSample + (s - gatheredStart)
    }

    /// `originalSample` in Int64 milliseconds at 16 kHz.
    public func originalMs(ofGatheredMs ms: Int64, isEnd: Bool = false) -> Int64 {
        let rate = Int64(SileroVAD.sampleRate)
        let sample = originalSample(ofGathered: Int(ms * rate / 1_000), isEnd: isEnd)
        return Int64(sample) * 1_000 / rate
    }
}
