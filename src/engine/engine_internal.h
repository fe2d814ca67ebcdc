// Helpers shared by the files that implement MariaDbEngine: engine.cc (options, account,
// directories, config, Initialize), engine_process.cc (supervision) and engine_sql.cc (the SQL it
// runs). Defined in engine_util.cc; internal to src/engine (only those files include it).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace rwd::engine::engine_internal {

// Gives the file or directory open as `fd` its owner (-1: unchanged) and mode.
Status SetOwnerAndMode(int fd, const std::string& path, uid_t uid, gid_t gid, mode_t mode);

// Creates `path` if missing (parents too), then gives it owner and mode. The directory is
// opened without following a symlink, so a link planted where a directory belongs (the engine
// account owns some of these) is refused, never followed.
Status MakeOwnedDirectory(const std::string& path, uid_t uid, gid_t gid, mode_t mode);

// If `path` is a regular file, gives it owner and mode; a missing file is fine. A symlink or a
// file with other hard links is refused (it could stand for a file the engine must not touch).
Status FixFileIfPresent(const std::string& path, uid_t uid, gid_t gid, mode_t mode);

// Writes a small file in one go, replacing any previous one: mode `mode`, group `gid` (-1:
// this process's).
Status WriteFileWithMode(const std::string& path, std::string_view content, mode_t mode,
                         gid_t gid);

// Writes a small private file (mode 0600) in one go, replacing any previous one.
Status WritePrivateFile(const std::string& path, std::string_view content);

// The whole of file `path`; NotFound if there is none.
Result<std::string> ReadSmallFile(const std::string& path);

// 32 random letters and digits, each equally likely.
Result<std::string> RandomPassword();

// The last lines mariadbd wrote to its log since `from_offset`.
std::string ReadLogTail(const std::string& path, off_t from_offset);

// `text` without its trailing newlines and spaces.
std::string Trimmed(std::string text);

}  // namespace rwd::engine::engine_internal
