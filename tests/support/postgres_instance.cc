#include "tests/support/postgres_instance.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <pqxx/pqxx>
#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"

namespace tokens::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr char kPort[] = "5432";

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string PercentEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string ReadTail(const std::string& path, size_t max_bytes = 4000) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no " + path + ")";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
  return s;
}

bool IsExecutable(const fs::path& p) {
  std::error_code ec;
  return ::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p, ec);
}

// PG_BINDIR, else the newest /usr/lib/postgresql/<N>/bin with an initdb, else
// "" (meaning: rely on PATH).
std::string FindBinDir() {
  if (const char* env = std::getenv("PG_BINDIR"); env != nullptr && *env) {
    return env;
  }
  std::error_code ec;
  int best = -1;
  std::string best_dir;
  for (const fs::directory_entry& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int version;
    if (!absl::SimpleAtoi(e.path().filename().string(), &version)) continue;
    fs::path bin = e.path() / "bin";
    if (version > best && IsExecutable(bin / "initdb")) {
      best = version;
      best_dir = bin.string();
    }
  }
  return best_dir;
}

// Absolute path of `name` on PATH (runuser may reset PATH, so we always pass
// absolute paths through it).
std::optional<std::string> FindOnPath(const std::string& name,
                                      const std::vector<std::string>& extra) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::stringstream ss(path);
    for (std::string d; std::getline(ss, d, ':');) {
      if (!d.empty()) dirs.push_back(d);
    }
  }
  dirs.insert(dirs.end(), extra.begin(), extra.end());
  for (const std::string& d : dirs) {
    fs::path p = fs::path(d) / name;
    if (IsExecutable(p)) return fs::absolute(p).string();
  }
  return std::nullopt;
}

absl::Status ChownRecursive(const fs::path& root, uid_t uid, gid_t gid) {
  if (::lchown(root.c_str(), uid, gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", root.string(), ": ", std::strerror(errno)));
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (::lchown(it->path().c_str(), uid, gid) != 0) {
      return absl::InternalError(
          absl::StrCat("chown ", it->path().string(), ": ", std::strerror(errno)));
    }
  }
  if (ec) {
    return absl::InternalError(absl::StrCat("walking ", root.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

// Replaces (or adds) the database name of a libpq connection string: the path
// of a postgres:// or postgresql:// URI, or a trailing dbname= keyword.
std::string ReplaceDbName(const std::string& url, const std::string& dbname) {
  size_t scheme_end = url.find("://");
  bool is_uri = scheme_end != std::string::npos &&
                (absl::StartsWith(url, "postgres://") || absl::StartsWith(url, "postgresql://"));
  if (!is_uri) {
    // key=value form: a later keyword overrides an earlier one in libpq.
    std::string escaped;
    for (char c : dbname) {
      if (c == '\'' || c == '\\') escaped.push_back('\\');
      escaped.push_back(c);
    }
    return absl::StrCat(url, " dbname='", escaped, "'");
  }
  size_t authority_start = scheme_end + 3;
  size_t rest = url.find_first_of("/?#", authority_start);
  if (rest == std::string::npos) rest = url.size();
  size_t path_end = rest;
  if (rest < url.size() && url[rest] == '/') {
    path_end = url.find_first_of("?#", rest);
    if (path_end == std::string::npos) path_end = url.size();
  }
  return absl::StrCat(url.substr(0, rest), "/", PercentEncode(dbname), url.substr(path_end));
}

}  // namespace

struct PostgresInstance::Impl {
  // TEST_DATABASE_URL mode.
  std::optional<std::string> external_url;

  std::string dir;                    // mkdtemp'd; also the socket directory
  std::string data_dir;               // dir + "/data"
  std::string log_path;               // dir + "/server.log"
  std::string bindir;                 // "" = rely on PATH
  std::optional<std::string> run_as;  // set when running as root
  std::string runuser;                // path of runuser, if run_as
  std::string env_binary;             // path of env, if run_as
  bool running = false;
  std::atomic<int> counter{0};

  // Runs a PostgreSQL tool (as run_as when we are root) to completion.
  absl::StatusOr<ChildProcess::Result> RunTool(const std::string& tool,
                                               std::vector<std::string> args,
                                               std::chrono::milliseconds timeout) const {
    std::string path;
    if (!bindir.empty()) {
      path = bindir + "/" + tool;
      if (!IsExecutable(path)) {
        return absl::NotFoundError(absl::StrCat(path, " is not an executable (PG_BINDIR?)"));
      }
    } else if (auto found = FindOnPath(tool, {}); found) {
      path = *found;
    } else {
      return absl::NotFoundError(
          absl::StrCat(tool,
                       " not found: no /usr/lib/postgresql/<N>/bin and not on PATH; "
                       "set PG_BINDIR"));
    }
    ChildProcess::Options options;
    if (run_as) {
      // `env -C dir`: the unprivileged user usually cannot access our working
      // directory (e.g. /root), which makes the tools warn "could not change
      // directory to ...".
      options.binary = runuser;
      options.args = {"-u", *run_as, "--", env_binary, "-C", dir, path};
    } else {
      options.binary = path;
    }
    options.args.insert(options.args.end(), args.begin(), args.end());
    // Untranslated messages; no client settings leaking into the tools.
    options.env = {{"LC_ALL", "C"}};
    options.unset_env = {"PGDATA",     "PGHOST",     "PGHOSTADDR",      "PGPORT",
                         "PGUSER",     "PGDATABASE", "PGOPTIONS",       "PGSERVICE",
                         "PGPASSWORD", "PGTZ",       "PGCLIENTENCODING"};
    std::string cmdline = absl::StrCat(options.binary, " ", absl::StrJoin(options.args, " "));
    absl::StatusOr<ChildProcess::Result> result = ChildProcess::Run(std::move(options), timeout);
    if (!result.ok()) {
      return absl::Status(result.status().code(),
                          absl::StrCat(result.status().message(), "\n--- server.log tail ---\n",
                                       ReadTail(log_path)));
    }
    if (result->exit_code != 0) {
      return absl::InternalError(absl::StrCat(
          cmdline, " failed with exit code ", result->exit_code, "\n--- stdout ---\n", result->out,
          "\n--- stderr ---\n", result->err, "\n--- server.log tail ---\n", ReadTail(log_path)));
    }
    return result;
  }

  absl::Status StartServer() {
    std::string opts = absl::StrCat(
        "-c listen_addresses='' -c unix_socket_directories='", dir, "' -c port=", kPort,
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        " -c max_connections=200 -c unix_socket_permissions=0777");
    // pg_ctl hands -o to a shell (`exec postgres ... <opts>`), so the quotes
    // above are interpreted there. pg_ctl also setsid()s the postmaster, so it
    // survives the ChildProcess destructor killing pg_ctl's process group.
    absl::StatusOr<ChildProcess::Result> r =
        RunTool("pg_ctl", {"-D", data_dir, "-l", log_path, "-w", "-t", "60", "start", "-o", opts},
                seconds(90));
    if (!r.ok()) return r.status();
    running = true;
    return absl::OkStatus();
  }

  // Last resort when pg_ctl cannot stop the server: kill the postmaster named
  // in postmaster.pid, after checking that the pid (which may be stale and
  // reused; we may be root) really is a postgres on our data directory.
  void KillPostmaster() const {
    std::ifstream in(data_dir + "/postmaster.pid");
    long pid = 0;
    if (!(in >> pid) || pid <= 1) return;
    std::ifstream cmdline_file(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
    std::stringstream cmdline;
    cmdline << cmdline_file.rdbuf();
    if (cmdline.str().find(data_dir) == std::string::npos) return;
    ::kill(static_cast<pid_t>(pid), SIGKILL);
  }
};

absl::StatusOr<std::unique_ptr<PostgresInstance>> PostgresInstance::Start() {
  std::unique_ptr<PostgresInstance> pg(new PostgresInstance());
  pg->impl_ = std::make_unique<Impl>();
  Impl& impl = *pg->impl_;

  if (const char* url = std::getenv("TEST_DATABASE_URL"); url != nullptr && *url) {
    impl.external_url = url;
    return pg;
  }

  impl.bindir = FindBinDir();

  char tmpl[] = "/tmp/tokens-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", tmpl, ": ", std::strerror(errno)));
  }
  // From here on, the destructor removes the directory on failure.
  impl.dir = tmpl;
  impl.data_dir = impl.dir + "/data";
  impl.log_path = impl.dir + "/server.log";

  if (::geteuid() == 0) {
    // PostgreSQL refuses to run as root: run its tools as an unprivileged
    // user that owns the directory.
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) pw = ::getpwnam("nobody");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but neither user 'postgres' nor 'nobody' exists");
    }
    impl.run_as = pw->pw_name;
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    std::optional<std::string> runuser =
        FindOnPath("runuser", {"/usr/sbin", "/sbin", "/usr/bin", "/bin"});
    std::optional<std::string> env = FindOnPath("env", {"/usr/bin", "/bin"});
    if (!runuser || !env) {
      return absl::FailedPreconditionError("running as root, but runuser or env is not available");
    }
    impl.runuser = *runuser;
    impl.env_binary = *env;
    if (absl::Status s = ChownRecursive(impl.dir, uid, gid); !s.ok()) return s;
    if (::chmod(impl.dir.c_str(), 0755) != 0) {
      return absl::InternalError(absl::StrCat("chmod ", impl.dir, ": ", std::strerror(errno)));
    }
  }

  absl::StatusOr<ChildProcess::Result> init =
      impl.RunTool("initdb",
                   {"-D", impl.data_dir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--no-locale", "--no-sync"},
                   seconds(120));
  if (!init.ok()) {
    return absl::Status(init.status().code(), absl::StrCat("initdb: ", init.status().message()));
  }
  if (absl::Status s = impl.StartServer(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("starting PostgreSQL: ", s.message()));
  }
  return pg;
}

PostgresInstance::~PostgresInstance() {
  if (impl_ == nullptr || impl_->external_url) return;
  Impl& impl = *impl_;
  std::error_code exists_ec;
  if (impl.running ||
      (!impl.data_dir.empty() && fs::exists(impl.data_dir + "/postmaster.pid", exists_ec))) {
    absl::StatusOr<ChildProcess::Result> r =
        impl.RunTool("pg_ctl", {"-D", impl.data_dir, "-m", "immediate", "-w", "stop"}, seconds(30));
    if (!r.ok()) {
      std::fprintf(stderr, "PostgresInstance: stopping the server: %s\n",
                   std::string(r.status().message()).c_str());
      impl.KillPostmaster();
    }
  }
  if (!impl.dir.empty()) {
    std::error_code ec;
    fs::remove_all(impl.dir, ec);
    if (ec) {
      std::fprintf(stderr, "PostgresInstance: removing %s: %s\n", impl.dir.c_str(),
                   ec.message().c_str());
    }
  }
}

std::string PostgresInstance::UrlFor(const std::string& dbname) const {
  if (impl_->external_url) return ReplaceDbName(*impl_->external_url, dbname);
  return absl::StrCat("postgresql://postgres@/", PercentEncode(dbname),
                      "?host=", PercentEncode(impl_->dir), "&port=", kPort);
}

absl::StatusOr<std::string> PostgresInstance::CreateDatabase() {
  const std::string admin_url = impl_->external_url ? *impl_->external_url : UrlFor("postgres");
  try {
    pqxx::connection conn(admin_url);
    pqxx::nontransaction tx(conn);
    // With TEST_DATABASE_URL, a database from an earlier run with the same
    // pid may still exist; just take the next name.
    for (int attempt = 0;; ++attempt) {
      const std::string name = absl::StrCat("t_", ::getpid(), "_", impl_->counter.fetch_add(1));
      try {
        tx.exec0("CREATE DATABASE " + tx.quote_name(name));
        return UrlFor(name);
      } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() != "42P04" || attempt >= 100) throw;
      }
    }
  } catch (const pqxx::sql_error& e) {
    return absl::InternalError(
        absl::StrCat("CREATE DATABASE: ", e.what(), " (SQLSTATE ", e.sqlstate(), ")"));
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat("connecting to ", admin_url, ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("CREATE DATABASE: ", e.what()));
  }
}

absl::Status PostgresInstance::Stop() {
  if (impl_->external_url) {
    return absl::FailedPreconditionError("cannot stop the server of TEST_DATABASE_URL");
  }
  if (!impl_->running) {
    return absl::FailedPreconditionError("server is not running");
  }
  absl::StatusOr<ChildProcess::Result> r = impl_->RunTool(
      "pg_ctl", {"-D", impl_->data_dir, "-m", "fast", "-w", "-t", "60", "stop"}, seconds(90));
  if (!r.ok()) {
    return absl::Status(r.status().code(),
                        absl::StrCat("stopping PostgreSQL: ", r.status().message()));
  }
  impl_->running = false;
  return absl::OkStatus();
}

absl::Status PostgresInstance::Restart() {
  if (impl_->external_url) {
    return absl::FailedPreconditionError("cannot restart the server of TEST_DATABASE_URL");
  }
  if (impl_->running) {
    if (absl::Status s = Stop(); !s.ok()) return s;
  }
  if (absl::Status s = impl_->StartServer(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("restarting PostgreSQL: ", s.message()));
  }
  return absl::OkStatus();
}

PostgresInstance& SharedPostgres() {
  // Started on first use and destroyed by the static destructors at normal
  // process exit, which stops the server and removes its directory. If the
  // test binary crashes or is SIGKILLed (e.g. a ctest timeout), the server
  // and /tmp/tokens-pg-* are left behind; the server only listens on a unix
  // socket inside that directory, so leftovers don't interfere with later
  // runs, but need manual cleanup (pg_ctl -D /tmp/tokens-pg-*/data stop).
  static std::unique_ptr<PostgresInstance> instance = [] {
    absl::StatusOr<std::unique_ptr<PostgresInstance>> pg = PostgresInstance::Start();
    if (!pg.ok()) {
      // We must return a reference, and every test that asks for the shared
      // server needs it: there is nothing sensible to hand back. Record the
      // failure in the current test, then exit (not abort: exit runs the
      // static destructors and flushes output, and no core dump is useful
      // here). GTEST_SKIP would hide a broken environment, so it is not used.
      ADD_FAILURE() << "cannot start the shared PostgreSQL: " << pg.status();
      std::fprintf(stderr,
                   "FATAL: cannot start the shared PostgreSQL for this test "
                   "binary; exiting.\n%s\n",
                   pg.status().ToString().c_str());
      std::fflush(stderr);
      std::exit(1);
    }
    return *std::move(pg);
  }();
  return *instance;
}

std::vector<std::string> SqlColumn(const std::string& database_url, const std::string& query) {
  pqxx::connection conn(database_url);
  pqxx::nontransaction txn(conn);
  std::vector<std::string> column;
  for (const pqxx::row& row : txn.exec(query)) {
    column.push_back(row[0].is_null() ? "NULL" : row[0].as<std::string>());
  }
  return column;
}

}  // namespace tokens::testing
