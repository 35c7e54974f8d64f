using BuildFarm.Worker.Execution;

namespace BuildFarm.Tests.Worker;

public sealed class UserResolverTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bf-users").FullName;

    public UserResolverTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "etc"));
        File.WriteAllText(Path.Combine(_root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n");
        File.WriteAllText(Path.Combine(_root, "etc/group"), "root:x:0:\nstaff:x:50:app,other\napp:x:1001:\nwheel:x:10:root\n");
    }

    [Fact]
    public void Name_takes_uid_primary_gid_home_and_supplementary_groups_primary_first() =>
        Assert.Equal("1000 1001 [1001,50] /home/app", Flatten(UserResolver.Resolve(_root, "app")));

    [Fact]
    public void Name_with_group_name_uses_that_group_only() =>
        Assert.Equal("1000 50 [50] /home/app", Flatten(UserResolver.Resolve(_root, "app:staff")));

    [Fact]
    public void Numeric_uid_and_gid_need_no_entries() =>
        Assert.Equal("4321 99 [99] ", Flatten(UserResolver.Resolve(_root, "4321:99")));

    [Fact]
    public void Numeric_uid_of_a_known_user_takes_its_primary_group() =>
        Assert.Equal(1001, UserResolver.Resolve(_root, "1000").Gid);

    [Fact]
    public void Empty_user_is_root() => Assert.Equal(0, UserResolver.Resolve(_root, "").Uid);

    [Fact]
    public void Unknown_name_fails_naming_it() =>
        Assert.Contains("ghost", Assert.Throws<UserNotFoundException>(() => UserResolver.Resolve(_root, "ghost")).Message);

    [Fact]
    public void Unknown_group_fails_naming_it() =>
        Assert.Contains("nogroup", Assert.Throws<UserNotFoundException>(() => UserResolver.Resolve(_root, "app:nogroup")).Message);

    [Fact]
    public void Chown_with_a_bare_unknown_uid_uses_it_as_gid() =>
        Assert.Equal((777, 777), UserResolver.ResolveOwner(_root, "777"));

    private static string Flatten(ResolvedUser user) => $"{user.Uid} {user.Gid} [{string.Join(',', user.AdditionalGids)}] {user.Home}";

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
