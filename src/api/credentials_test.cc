#include "api/credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>
#include <string>

#include "api/random_id.h"
#include "api/test_util.h"

namespace rwd::api {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

bool AllIn(const std::string& s, std::string_view alphabet) {
  return s.find_first_not_of(alphabet) == std::string::npos;
}

TEST(ApiCredentials, GeneratedShape) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    Result<Credentials> c = GenerateCredentials();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_EQ(20u, c->access_key_id.size());
    EXPECT_EQ("AKIA", c->access_key_id.substr(0, 4));
    EXPECT_TRUE(AllIn(c->access_key_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"));
    ASSERT_EQ(40u, c->secret_access_key.size());
    EXPECT_TRUE(AllIn(c->secret_access_key,
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"));
    EXPECT_TRUE(seen.insert(c->access_key_id).second);
    EXPECT_TRUE(seen.insert(c->secret_access_key).second);
  }
}

TEST(ApiCredentials, WriteIsMode0600AndLoadsBack) {
  TempDir dir;
  Result<Credentials> c = GenerateCredentials();
  ASSERT_TRUE(c.ok());
  mode_t old_umask = umask(0);  // a permissive umask must not widen the file's mode
  Status st = WriteCredentialsFile(dir.path(), *c);
  umask(old_umask);
  ASSERT_TRUE(st.ok()) << st.ToString();
  struct stat sb;
  ASSERT_EQ(0, stat(CredentialsPath(dir.path()).c_str(), &sb));
  EXPECT_EQ(0600u, sb.st_mode & 0777);
  EXPECT_EQ("[rewind]\naws_access_key_id = " + c->access_key_id +
                "\naws_secret_access_key = " + c->secret_access_key + "\n",
            ReadFile(CredentialsPath(dir.path())));

  Result<Credentials> back = LoadCredentialsFile(CredentialsPath(dir.path()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(c->access_key_id, back->access_key_id);
  EXPECT_EQ(c->secret_access_key, back->secret_access_key);

  // Overwrite replaces atomically and leaves no temporary files.
  Result<Credentials> c2 = GenerateCredentials();
  ASSERT_TRUE(WriteCredentialsFile(dir.path(), *c2).ok());
  EXPECT_EQ(c2->access_key_id, LoadCredentialsFile(CredentialsPath(dir.path()))->access_key_id);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(1, files);
}

TEST(ApiCredentials, LoadMakesAReadableFileOfOursPrivate) {
  TempDir dir;
  Result<Credentials> c = GenerateCredentials();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(WriteCredentialsFile(dir.path(), *c).ok());
  const std::string path = CredentialsPath(dir.path());
  ASSERT_EQ(0, chmod(path.c_str(), 0644));  // as an older version (or a copy) might leave it
  Result<Credentials> back = LoadCredentialsFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  struct stat sb;
  ASSERT_EQ(0, stat(path.c_str(), &sb));
  EXPECT_EQ(0600u, sb.st_mode & 0777);
}

TEST(ApiCredentials, LoadParsesIniAndReportsProblems) {
  TempDir dir;
  const std::string path = dir.File("credentials");
  WriteFile(path,
            "# comment\n[default]\naws_access_key_id=AKIADEFAULT\naws_secret_access_key=s0\n\n"
            "[ rewind ]\r\n; another comment\r\n  aws_access_key_id =  AKIAREWIND  \r\n"
            "aws_secret_access_key = abc/def+ghi\r\n[broken]\naws_access_key_id = X\n");
  Result<Credentials> r = LoadCredentialsFile(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ("AKIAREWIND", r->access_key_id);
  EXPECT_EQ("abc/def+ghi", r->secret_access_key);
  EXPECT_EQ("AKIADEFAULT", LoadCredentialsFile(path, "default")->access_key_id);

  Result<Credentials> missing_profile = LoadCredentialsFile(path, "nope");
  EXPECT_EQ(Status::Code::kNotFound, missing_profile.status().code());
  Result<Credentials> broken = LoadCredentialsFile(path, "broken");
  EXPECT_EQ(Status::Code::kInvalidArgument, broken.status().code());
  Result<Credentials> no_file = LoadCredentialsFile(dir.File("absent"));
  EXPECT_EQ(Status::Code::kNotFound, no_file.status().code());
}

TEST(ApiCredentials, LoadOrCreate) {
  TempDir dir;
  Result<Credentials> first = LoadOrCreateCredentials(dir.path());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Result<Credentials> second = LoadOrCreateCredentials(dir.path());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->access_key_id, second->access_key_id);
  EXPECT_EQ(first->secret_access_key, second->secret_access_key);

  SecretLookup lookup = SingleKeyLookup(*first);
  EXPECT_EQ(first->secret_access_key, lookup(first->access_key_id).value());
  EXPECT_FALSE(lookup("AKIAOTHER").has_value());

  Status st = WriteCredentialsFile(dir.File("no/such/dir"), *first);
  EXPECT_FALSE(st.ok());
}

TEST(ApiRandomId, UuidShape) {
  std::string u = RandomUuid();
  ASSERT_EQ(36u, u.size());
  EXPECT_EQ('-', u[8]);
  EXPECT_EQ('4', u[14]);
  EXPECT_NE(u, RandomUuid());
  EXPECT_FALSE(RandomString("a", 3).ok());
}

}  // namespace
}  // namespace rwd::api
