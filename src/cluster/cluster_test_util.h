// Small file helpers shared by the cluster unit tests.
#pragma once

#include <fstream>
#include <sstream>
#include <memory>
#include <string>

#include "cluster/cluster_service.h"
#include "cluster/stand_in_engine.h"

namespace rwd::cluster {

// Service options for a unit test: `dir`, ports from `first_port`, no timers, and the stand-in
// engine (sharing `knobs`).
inline ServiceOptions StandInServiceOptions(const std::string& dir, StandInKnobs* knobs,
                                            int first_port) {
  ServiceOptions o;
  o.data_dir = dir;
  o.first_port = first_port;
  o.clean_interval_ms = 0;
  o.retry_failed_interval_ms = 0;
  o.engine_version = "10.11.6-MariaDB-stand-in";
  o.engine_factory = [knobs](const engine::EngineOptions& eo) {
    return Result<std::unique_ptr<ClusterEngine>>(
        std::unique_ptr<ClusterEngine>(new StandInEngine(eo, knobs)));
  };
  return o;
}

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
