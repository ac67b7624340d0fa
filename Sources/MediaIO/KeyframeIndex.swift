// Where a file's key frames are, from the container's own index (mp4 sample tables, mkv
// cues), read once at open: the sampler uses it to jump over stretches of packets that no
// sampling tick can need. Empty for live inputs and containers without an index, which
// simply means no jumping.
import CFFmpeg

struct KeyframeIndex {
    /// Index timestamps of key frames, ascending, in the stream's time base. Most demuxers
    /// (mp4) store decode times here, some (mkv) presentation times; the sampler allows for
    /// the difference (see MediaSource.keyframeAhead).
    let timestamps: [Int64]

    init(stream: UnsafeMutablePointer<AVStream>) {
        var found: [Int64] = []
        let count = avformat_index_get_entries_count(stream)
        found.reserveCapacity(Int(max(count, 0)))
        for i in 0..<count {
            guard let entry = avformat_index_get_entry(stream, i) else { continue }
            if entry.pointee.flags & AVINDEX_KEYFRAME != 0, entry.pointee.timestamp != FFmpeg.noPTS {
                found.append(entry.pointee.timestamp)
            }
        }
        found.sort()
        timestamps = found
    }

    init(timestamps: [Int64]) { self.timestamps = timestamps.sorted() }

    /// The first key frame strictly after `timestamp`, if the index lists one.
    func first(after timestamp: Int64) -> Int64? {
        var lo = 0, hi = timestamps.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if timestamps[mid] <= timestamp { lo = mid + 1 } else { hi = mid }
        }
        return lo < timestamps.count ? timestamps[lo] : nil
    }
}
