using BuildFarm.Coordinator.Api.Identity;
using BuildFarm.Protos.V1;
using Google.Protobuf;
using Grpc.Core;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// File outputs back to the client: a served build writes each <c>-o type=oci|docker|tar|local</c> output into
/// <see cref="ServedExports"/> (type=local as a tar of the filesystem, which the client unpacks), its result names them,
/// and the client reads each one with <c>ReadExport</c> from an offset (resumable) and releases it.
/// </summary>
public sealed partial class BuildGrpcService
{
    private const int ExportChunkSize = 1 << 20;

    /// <summary>How long an output waits for its client after the build (a client that never comes back).</summary>
    public static TimeSpan ExportsKeptFor { get; } = TimeSpan.FromMinutes(30);

    private readonly ServedExports _exports = new(Path.Combine(scratch, "exports"), TimeProvider.System, ExportsKeptFor);

    public override async Task ReadExport(ReadExportRequest request, IServerStreamWriter<ExportChunk> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        var notFound = new RpcException(new Status(StatusCode.NotFound, $"export {request.Id} is not on this server (released, expired, or never made)"));
        // Another team's export is NOT_FOUND like an id that does not exist.
        if (_exports.Find(request.Id) is not { } found || !TokenInterceptor.CallerOf(context).Sees(found.Team)) throw notFound;
        var (path, size, _) = found;
        if (request.Offset < 0 || request.Offset > size)
            throw new RpcException(new Status(StatusCode.OutOfRange, $"offset {request.Offset} is outside export {request.Id} ({size} bytes)"));
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, ExportChunkSize, useAsync: true);
        }
        catch (FileNotFoundException)
        {
            throw notFound; // released between the lookup and the open
        }
        await using var _ = file;
        file.Seek(request.Offset, SeekOrigin.Begin);
        var buffer = new byte[ExportChunkSize];
        var offset = request.Offset;
        while (true)
        {
            var read = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            if (read == 0) return;
            await responseStream.WriteAsync(new ExportChunk { Offset = offset, Data = ByteString.CopyFrom(buffer, 0, read) }, cancellationToken);
            offset += read;
        }
    }

    public override Task<ReleaseExportResponse> ReleaseExport(ReleaseExportRequest request, ServerCallContext context)
    {
        if (_exports.Find(request.Id) is { } found && TokenInterceptor.CallerOf(context).Sees(found.Team)) _exports.Release(request.Id);
        return Task.FromResult(new ReleaseExportResponse());
    }

    /// <summary>
    /// Points each file output of <paramref name="served"/> at a fresh export on this host (the client's paths mean
    /// nothing here); returns the export id per output index. type=local becomes type=tar: the client unpacks it.
    /// </summary>
    private Dictionary<int, string> RedirectFileOutputs(BuildSpec served)
    {
        var ids = new Dictionary<int, string>();
        for (var i = 0; i < served.Outputs.Count; i++)
        {
            var output = served.Outputs[i];
            if (output.Type is not ("oci" or "docker" or "tar" or "local")) continue;
            var (id, path) = _exports.Reserve();
            ids[i] = id;
            if (output.Type == "local") output.Type = "tar";
            output.Attrs["dest"] = path;
        }
        return ids;
    }

    private async Task<IReadOnlyList<ExportFile>> KeepExportsAsync(Dictionary<int, string> ids, string team, CancellationToken cancellationToken)
    {
        var files = new List<ExportFile>();
        foreach (var (index, id) in ids.OrderBy(p => p.Key))
        {
            var (size, digest) = await _exports.KeepAsync(id, team, cancellationToken);
            files.Add(new ExportFile { Id = id, OutputIndex = index, Size = size, Sha256 = digest.ToString() });
        }
        return files;
    }

    private void DropExports(Dictionary<int, string> ids)
    {
        foreach (var id in ids.Values) _exports.Release(id);
    }
}
