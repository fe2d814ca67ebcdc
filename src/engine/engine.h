// MariaDbEngine: supervises one stock mariadbd for one cluster — initialises its datadir,
// writes its config, starts it and waits until it serves connections, stops or kills it, and
// notices when it dies on its own. Also runs SQL through the stock `mariadb` client.
//
// Identity. mariadbd never runs as root. When this process is root, mariadbd and
// mariadb-install-db are spawned already switched (setgroups/setgid/setuid before exec) to an
// unprivileged engine account (EngineOptions::account when given, e.g. a per-cluster uid with
// no passwd entry; else EngineOptions::engine_user, Debian's `mysql` by default); when
// it is not root they run as this process's own user. The engine's `mariadb` client runs as
// this process (it reads root-only option files).
//
// Files. The datadir (a FUSE mount in production) holds only what mariadbd puts there, plus
// its Unix socket. Everything else lives in `run_dir`, outside the datadir, so that a backtrack
// or clone of the datadir never rewinds or copies it. Two kinds of file, two owners:
//   <run_dir>/                   owner this process; 0710, group = the engine account's group
//                                (0700 when nothing is switched): the engine account may only
//                                traverse it, to reach its own directory and its config
//   <run_dir>/my.cnf             config, rewritten at every Start (0640, same group: mariadbd
//                                reads it and cannot change it)
//   <run_dir>/root.password      the MariaDB root password (0600)
//   <run_dir>/client-*.cnf       short-lived client option files holding a password (0600)
//   <run_dir>/install-db.log     output of mariadb-install-db (0600)
//   <run_dir>/mariadbd/          the server's own directory, owner the engine account, 0700;
//                                what mariadbd writes, and what only it may read:
//     mariadbd.err               error log (appended; mariadbd's stdout/stderr go there too)
//     mariadbd.pid               pid file
//     tmp/                       tmpdir (O_TMPFILE, #sql… files)
//     files/                     secure_file_priv: the only directory the server's FILE
//                                privilege (which no master user has) could reach
//     (others)                   WriteServerFile: e.g. a TLS key the server must read
// Every Start re-applies these owners and modes, so a run_dir left by an older layout or a
// different umask is fixed. Every directory above run_dir and above the datadir must be
// searchable by the engine account (CheckTraversable); Start refuses otherwise.
// Passwords only ever go into 0600 files in run_dir and into the client's stdin: never into a
// command line, an environment variable, a log or a Status message.
//
// The master user. Initialize creates it with Aurora MySQL's master privileges mapped to
// MariaDB 10.11 (MasterPrivilegesSql); with EngineOptions::master_user set, every Start
// re-applies them (one client call), so an account created with an older, wider grant is
// narrowed. The server runs with secure_file_priv = <run_dir>/mariadbd/files.
//
// Processes. mariadbd runs in its own process group with a clean environment and signal state.
// Each started mariadbd has a reaper thread that waits for it; the pid is only ever signalled
// while it is known not to be reaped, so a recycled pid is never hit. Nothing is killed by name.
// The hosting process must not reap children it did not spawn (no waitpid(-1), no SIGCHLD set
// to SIG_IGN), or exit statuses are lost.
//
// Thread safety: all methods may be called from any thread. Initialize, Start, Stop and Kill are
// serialized with each other; the query methods run concurrently with everything.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/tunables.h"

namespace rwd::engine {

// The account mariadbd runs as.
struct EngineAccount {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  // True when this process is root and spawns the server switched to uid/gid; false when it
  // is not root and the server runs as this process's own user.
  bool switched = false;
};

// Resolves the engine account: `name` (empty: "mysql") when this process is root; this
// process's own user when it is not (then `name` must be empty or that user's name).
// Failure: InvalidArgument for an unknown account, for root itself, or for an account a
// non-root process cannot switch to; the message says what to do.
Result<EngineAccount> ResolveEngineAccount(std::string_view name);

// Validates an explicit account given in EngineOptions::account. When this process is root:
// uid and gid must not be 0; the uid needs no passwd entry (the server is spawned already
// switched, with no supplementary groups); an empty name becomes "uid <uid>"; switched is set.
// When it is not root: uid and gid must be this process's own (switched is cleared).
// Failure: InvalidArgument saying which part is wrong.
Result<EngineAccount> CheckExplicitAccount(EngineAccount account);

// Checks that `account` can search (traverse) every directory from / down to `path`, inclusive
// (by mode bits: owner, then group, then other; a switched account has only its gid, as it is
// spawned with no supplementary groups; an unswitched one has this user's groups).
// Failure: FailedPrecondition naming the first directory it cannot cross and how to fix it;
// NotFound/IOError if a directory cannot be examined.
Status CheckTraversable(const std::string& path, const EngineAccount& account);

struct EngineOptions {
  // Required. Absolute paths. `datadir` is created if missing; `run_dir` is created with mode
  // 0700 and must not be inside the datadir.
  std::string datadir;
  std::string run_dir;
  int port = 0;  // TCP port, 1..65535

  // The address mariadbd listens on. Must be numeric; the engine's own client connects to it
  // (to loopback if it is a wildcard). TCP must stay enabled (no skip-networking).
  std::string bind_address = "127.0.0.1";

  // The account mariadbd runs as (see ResolveEngineAccount): empty means Debian's "mysql" when
  // this process is root, else this process's own user.
  std::string engine_user;
  // An explicit account instead (e.g. one uid per cluster, without a passwd entry); checked
  // by CheckExplicitAccount. When set, engine_user must be empty.
  std::optional<EngineAccount> account;

  // The master user whose privileges every Start re-applies (see the file comment); empty:
  // none. An account that does not exist (dropped by its owner) is left alone.
  std::string master_user;

  // Derived from datadir / run_dir when left empty (see the file comment). All but the socket
  // must be outside the datadir. The socket path must be shorter than 108 bytes.
  std::string socket_path;  // <datadir>/mysqld.sock
  std::string config_path;
  std::string server_dir;       // <run_dir>/mariadbd, owned by the engine account
  std::string log_error_path;   // in server_dir
  std::string pid_file_path;    // in server_dir
  std::string tmpdir;           // in server_dir
  std::string secure_file_dir;  // in server_dir: secure_file_priv

  std::string innodb_buffer_pool_size = "256M";
  std::string mariadbd_path = "/usr/sbin/mariadbd";
  std::string install_db_path = "/usr/bin/mariadb-install-db";
  std::string client_path = "/usr/bin/mariadb";

  // Binary log and GTID replication (reader instances; engine/replication.h). 0: no binary
  // log. Otherwise the server runs with this server_id, log-bin in the datadir (a clone or
  // backtrack of the datadir carries the binlog, made consistent with InnoDB by crash
  // recovery's XA pass), binlog_format=ROW, gtid_strict_mode=ON and log_slave_updates=ON (a
  // reader's binlog continues its writer's GTID sequence). Unique per server of a cluster.
  uint32_t server_id = 0;
  // read_only=ON: nobody without READ_ONLY ADMIN (which the master user never holds) writes;
  // the replica threads still apply the writer's changes.
  bool read_only = false;

  // More `name=value` settings for the [mariadbd] group, written after (so overriding) the
  // engine's own, e.g. {"max-connections", "500"}. Values are quoted by the engine.
  std::vector<std::pair<std::string, std::string>> extra_settings;
  // The owner's tuned variables (tunables.h), written last into [mariadbd] under ConfigNameOf.
  // Each must pass CheckTunedSetting (Create refuses otherwise). SetTunedSettings replaces
  // them for the next Start.
  TunedSettings tuned_settings;

  // Start fails (and kills the server) if it does not serve connections in time; crash
  // recovery of a large redo log counts against this.
  std::chrono::milliseconds start_timeout = std::chrono::seconds(120);
  // Stop sends SIGTERM, then SIGKILL after this long.
  std::chrono::milliseconds stop_timeout = std::chrono::seconds(60);
  // Each RunSql call is killed after this long.
  std::chrono::milliseconds sql_timeout = std::chrono::seconds(300);

  // The MariaDB root password. Empty: Initialize generates a random one; later engines read it
  // from <run_dir>/root.password. A clone's datadir carries its source's accounts, so an engine
  // over a cloned datadir (with a fresh run_dir) must be given the source's RootPassword() here.
  std::string root_password;

  // Called once when a server that Start() reported up exits without Stop() or Kill() having
  // been asked (crash, OOM kill, kill -9 from outside). The Status is Unavailable and describes
  // the exit and the tail of the error log. Runs on the reaper thread with no engine lock held:
  // it must not call Start, Stop, Kill or destroy the engine (post that work elsewhere); it may
  // call IsRunning, pid, CheckAlive and the query methods.
  std::function<void(const Status&)> on_unexpected_exit;
};

// Who runs a statement through the client.
struct SqlLogin {
  std::string user;
  std::string password;
};

enum class SqlTransport {
  kUnixSocket,  // the socket in the datadir
  kTcp,         // bind_address:port, as a remote user connects
};

struct SqlRunOptions {
  SqlTransport transport = SqlTransport::kUnixSocket;
  std::string database;  // default database; empty for none
  // Prints a first line of column names, as `mysql -B` does (RunSql's output is then exactly
  // what `mysql -B -e SQL` prints).
  bool column_names = false;
};

// The statements (for the mariadb client, as root) that give `account` (already quoted, e.g.
// `m`@`%`) Aurora MySQL's master privileges mapped to MariaDB 10.11, after revoking everything
// it had. Data privileges are granted on every database by the wildcard `%`.* and shadowed for
// the `mysql` schema by a more specific SELECT-only row (MariaDB uses the most specific matching
// database row, not the union), so the master can neither INSERT INTO mysql.plugin (INSTALL
// SONAME) nor rewrite mysql.global_priv. Server-wide privileges that do not reach the host or
// the server's settings are granted ON *.*. Never: FILE, SUPER or its 10.11 parts, SHUTDOWN.
// Limits of stock MariaDB 10.11 (no SYSTEM_USER, no partial revokes), verified on the server:
// CREATE USER lets the master ALTER or RENAME any account, the engine's root included, and a
// wildcard database grant it passes on (ON `mysq_`.*) matches the mysql schema. So these grants
// close the direct paths only; what a server taken over this way can reach is bounded by the
// operating system: mariadbd is not root, secure_file_priv is private, symbolic links are off,
// the mount admits only root and the engine user, and every other file is private.
std::string MasterPrivilegesSql(const std::string& account);

class MariaDbEngine {
 public:
  // Checks and completes the options (fills derived paths). Starts nothing, touches no files.
  // Failure: InvalidArgument naming the bad option.
  static Result<std::unique_ptr<MariaDbEngine>> Create(EngineOptions options);

  // Stops a running server (gracefully, as Stop) and waits for the reaper.
  ~MariaDbEngine();
  MariaDbEngine(const MariaDbEngine&) = delete;
  MariaDbEngine& operator=(const MariaDbEngine&) = delete;

  // Creates a new database in an empty datadir and leaves the server running:
  // mariadb-install-db, Start, then sets a password on every root account, creates
  // `master_user`@'%' with `master_password` and the master privileges (MasterPrivilegesSql),
  // and, if `database` is not empty, creates it.
  // Failure: AlreadyExists if the datadir already holds a database; FailedPrecondition if the
  // server is running; InvalidArgument for a bad name; otherwise the failing step's Status. On
  // failure the server is stopped and the datadir is in no defined state: discard it.
  Status Initialize(std::string_view master_user, std::string_view master_password,
                    std::string_view database);

  // Writes the config and starts mariadbd on an initialised datadir, then waits until it serves
  // connections: until root logs in over TCP (or, if the root password is unknown, until the
  // Unix socket sends a greeting). Running crash recovery is part of this. Then, if
  // options.master_user is set, re-applies its privileges (ReconcileMasterPrivileges); if that
  // fails the server is stopped and the failure returned (never left serving a wider grant).
  // Success: the server serves connections. Failure: FailedPrecondition if already running,
  // if the datadir is not initialised, or if an earlier mariadbd of this run_dir is still
  // alive (named by pid; it is not touched); Unavailable if mariadbd exits early or is not
  // ready within start_timeout (then it is killed) — the message has the exit status and the
  // tail of this start's error log. After a failure no server is running.
  Status Start();

  // Graceful shutdown: SIGTERM, wait up to stop_timeout, then SIGKILL. OK if not running.
  // Failure: Busy if the process survives SIGKILL for 30 s (e.g. stuck in the kernel); its
  // reaper keeps waiting for it.
  Status Stop();

  // SIGKILL and reap: leaves a crash image, which the next Start recovers. OK if not running.
  // Failure: as Stop.
  Status Kill();

  // True from a successful spawn until the process is reaped.
  bool IsRunning() const;
  // The running server's pid, or 0.
  pid_t pid() const;

  // OK while the server runs. Otherwise Unavailable with the exit status and error-log tail if
  // the last server died unexpectedly (or failed to start), else FailedPrecondition.
  Status CheckAlive() const;

  // The server version as SELECT VERSION() reports it, e.g. "10.11.19-MariaDB-0+deb12u1", from
  // `mariadbd --version` (run once, then cached). Works whether or not the server runs.
  Result<std::string> Version() const;

  // Runs `sql` (one or more `;`-separated statements, sent on the client's stdin) with the
  // `mariadb` client in batch mode and returns its stdout: one line per row, columns separated
  // by tabs, no header; NULL prints as "NULL". Stops at the first failing statement.
  // Failure: Unavailable if the client cannot connect (client errors 2xxx) or times out;
  // InvalidArgument if the server rejects the login or a statement (message has the client's
  // "ERROR nnnn (state)..." line). The password goes through a 0600 option file in run_dir,
  // removed before returning.
  Result<std::string> RunSql(const SqlLogin& login, std::string_view sql,
                             const SqlRunOptions& run_options = {}) const;
  // As RunSql, as root over the Unix socket (or TCP if asked).
  Result<std::string> RunSqlAsRoot(std::string_view sql,
                                   const SqlRunOptions& run_options = {}) const;

  // Makes `master_user`@'%' hold exactly the master privileges, as root, in one client call:
  // REVOKE ALL then the grants of MasterPrivilegesSql. Does nothing if the account does not
  // exist. Failure: as RunSql.
  Status ReconcileMasterPrivileges(std::string_view master_user) const;

  // Writes `content` to <server_dir>/<name> (a plain file name), owned by the engine account,
  // mode 0600, replacing any previous file: the place for a file mariadbd must read and nobody
  // else, e.g. a TLS private key (then name it in extra_settings). Creates server_dir if
  // needed. Failure: InvalidArgument for a bad name; IOError and the like from the filesystem.
  Status WriteServerFile(std::string_view name, std::string_view content) const;

  // ALTER USER user@'%' IDENTIFIED BY password, as root (ModifyDBCluster's MasterUserPassword).
  Status SetUserPassword(std::string_view user, std::string_view password) const;

  // ---- Tuned variables (tunables.h) ----
  // Replaces the tuned settings every later Start writes into the config (the running server
  // is not touched). Failure: InvalidArgument (CheckTunedSetting); nothing is changed then.
  Status SetTunedSettings(TunedSettings settings);
  // SET GLOBAL on the running server, as root: `value`, or with none the engine's own value
  // for it (the one its config sets without tuning) else the server's DEFAULT. Success: the
  // variable has the value; SettingsInEffect records it. Failure: InvalidArgument
  // (CheckTunedSetting, or the server's refusal), FailedPrecondition if no server runs,
  // Unavailable as RunSql.
  Status ApplySetting(const std::string& name, const std::optional<std::string>& value);
  // The tuned settings the running server has: those it was started with, changed by every
  // successful ApplySetting since. Empty when nothing runs.
  TunedSettings SettingsInEffect() const;

  // The root password (options.root_password, else <run_dir>/root.password).
  // Failure: NotFound if neither exists (datadir never initialised by this run_dir).
  Result<std::string> RootPassword() const;

  // True if the datadir holds an initialised database (its `mysql` schema directory exists).
  bool IsInitialized() const;

  const EngineOptions& options() const { return options_; }
  const EngineAccount& account() const { return account_; }

 private:
  enum class Phase {
    kNone,      // no server spawned yet
    kStarting,  // spawned, Start waiting for its greeting
    kUp,        // Start returned OK
    kStopping,  // Stop, Kill or a failed Start asked it to exit
  };

  MariaDbEngine(EngineOptions options, EngineAccount account);
  // Creates run_dir, server_dir and their subdirectories and gives them (and files the server
  // writes) their owners and modes (see the file comment); checks traversability.
  Status PrepareDirectories() const;

  // `readiness_login` logs in to check readiness; empty means root with RootPassword().
  Status StartLocked(std::optional<SqlLogin> readiness_login = std::nullopt);
  Status StopLocked(bool graceful);
  Status WriteConfig(const TunedSettings& tuned) const;
  Status CheckNoOrphan() const;
  Status WaitUntilReady(pid_t child, off_t log_offset, std::optional<SqlLogin> login);
  Result<std::string> RunClient(const SqlLogin& login, std::string_view sql,
                                const SqlRunOptions& run_options,
                                std::chrono::milliseconds timeout) const;
  // Sends sig to the current child if it is not reaped yet. Requires mu_.
  void SignalLocked(int sig);
  // Waits until the current child is reaped or the timeout passes. Returns true if reaped.
  bool WaitForExit(std::chrono::milliseconds timeout);
  void JoinReaper();
  void Reap(pid_t child, off_t log_offset);
  std::string ExitReport(const std::string& what, int wait_status, off_t log_offset) const;
  // The address clients of this server connect to (bind_address, or loopback if wildcard).
  std::string ClientHost() const;

  const EngineOptions options_;
  const EngineAccount account_;

  // Serializes Initialize / Start / Stop / Kill / destruction. Taken before mu_.
  std::mutex lifecycle_mu_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable exited_cv_;
  Phase phase_ = Phase::kNone;
  pid_t child_ = 0;
  bool child_reaped_ = true;
  Status last_exit_;  // non-OK if the last server exited without being asked
  std::thread reaper_;

  TunedSettings tuned_;      // guarded by mu_: what the next Start writes
  TunedSettings in_effect_;  // guarded by mu_: what the running server has

  mutable std::mutex version_mu_;
  mutable std::string version_;  // cached Version()
};

}  // namespace rwd::engine
