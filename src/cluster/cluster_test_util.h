// Small file helpers shared by the cluster unit tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace rwd::cluster {

// The whole file ("" if it cannot be read).
inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces the file's contents; false if the write failed.
inline bool ReplaceFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.flush();
  return out.good();
}

}  // namespace rwd::cluster
