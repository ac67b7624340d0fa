// zlib for Whisper's compression-ratio check (imported only by the Whisper target).
#include <zlib.h>
