using System.Security.Cryptography;
using BuildFarm.Oci.Layers;
using BuildFarm.Protos.V1;
using Grpc.Core;

namespace BuildFarm.Cli;

/// <summary>
/// Brings one file output of a served build to where <c>-o</c> named it: read with <c>ReadExport</c> in chunks, resumed from
/// the bytes already written when the stream breaks, checked against the server's size and digest, then moved into place
/// (temp + rename: a reader never sees half a file), written to stdout (<c>dest=-</c>), or unpacked (<c>type=local</c>).
/// </summary>
public sealed class ExportDownload(BuildService.BuildServiceClient client, string server)
{
    private const int Attempts = 5;

    public async Task SaveAsync(ExportFile export, OutputSpec output, CancellationToken cancellationToken)
    {
        var dest = output.Attrs["dest"];
        if (output.Type == "local")
        {
            var tar = Path.Combine(Path.GetTempPath(), $"buildfarm-export-{export.Id}.tar");
            try
            {
                await using (var file = new FileStream(tar, FileMode.Create, FileAccess.Write, FileShare.None))
                    await ReceiveAsync(export, file, cancellationToken);
                Directory.CreateDirectory(dest);
                await using var read = File.OpenRead(tar);
                // A filesystem, not a layer: a ".wh." file in the image is an ordinary file here.
                await new LayerApplier(new LayerApplyOptions { HonorWhiteouts = false }).ApplyAsync(read, dest, cancellationToken);
            }
            finally
            {
                File.Delete(tar);
            }
        }
        else if (dest == "-")
        {
            await using var stdout = Console.OpenStandardOutput();
            await ReceiveAsync(export, stdout, cancellationToken);
        }
        else
        {
            var full = Path.GetFullPath(dest);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            var temp = full + $".{Environment.ProcessId}.tmp";
            try
            {
                await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
                    await ReceiveAsync(export, file, cancellationToken);
                File.Move(temp, full, overwrite: true);
            }
            finally
            {
                File.Delete(temp);
            }
        }
        await client.ReleaseExportAsync(new ReleaseExportRequest { Id = export.Id }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
    }

    /// <summary>Appends the export to <paramref name="destination"/>; only ever appends, so a retry resumes at its length.</summary>
    private async Task ReceiveAsync(ExportFile export, Stream destination, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long offset = 0;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var call = client.ReadExport(new ReadExportRequest { Id = export.Id, Offset = offset }, cancellationToken: cancellationToken);
                await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    if (chunk.Offset != offset)
                        throw new IOException($"{server}: export {export.Id} sent bytes at {chunk.Offset}, expected {offset}");
                    var data = chunk.Data.Memory;
                    await destination.WriteAsync(data, cancellationToken);
                    hash.AppendData(data.Span);
                    offset += data.Length;
                }
                break;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown
                                         && attempt < Attempts && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken); // then resume at offset
            }
        }
        await destination.FlushAsync(cancellationToken);
        var digest = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
        if (offset != export.Size || digest != export.Sha256)
            throw new IOException($"{server}: export {export.Id} arrived as {offset} bytes {digest}, expected {export.Size} bytes {export.Sha256}");
    }
}
