using BuildFarm.Oci.Native;

namespace BuildFarm.Oci.FileSystem;

/// <summary>One entry of a <see cref="FileTree"/> walk: its full path, its path relative to the root ('/'-separated),
/// and its own <c>lstat</c> (a symlink is reported as a symlink, never as what it points to).</summary>
public readonly record struct FileTreeEntry(string FullPath, string RelativePath, FileStatus Status);
