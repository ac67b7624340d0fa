// Where a file's key frames are, from the container's own index, read once at open: the
// sampler uses it to jump over runs of packets that no sampling tick can need. MediaSource
// reads it only for mp4, whose index lists every sample (see MediaSource.jumpsOver).
import CFFmpeg

struct KeyframeIndex {
    /// Index timestamps of key frames, ascending, in the stream's time base: decode times for
    /// mp4 (other demuxers store presentation times, or only some key frames).
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
