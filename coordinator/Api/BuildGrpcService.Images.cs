using BuildFarm.Coordinator.Api.Identity;
using BuildFarm.Coordinator.Images;
using BuildFarm.Protos.V1;
using Grpc.Core;

namespace BuildFarm.Coordinator.Api;

/// <summary><c>rmi --server</c>: untag and delete on this server's image store, as the CLI does on its own.</summary>
public sealed partial class BuildGrpcService
{
    /// <summary>Deletes an image's unused blobs; without it (no step-record index at hand) RemoveImages is unavailable.</summary>
    public ImageRemover? Remover { get; init; }

    public override async Task<RemoveImagesResponse> RemoveImages(RemoveImagesRequest request, ServerCallContext context)
    {
        if (Remover is null)
            throw new RpcException(new Status(StatusCode.Unimplemented, "this server cannot remove images"));
        if (request.Names.Count == 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "rmi needs at least one image name or ID"));
        var removal = new ImageRemoval(Remover, images);
        var response = new RemoveImagesResponse();
        var caller = TokenInterceptor.CallerOf(context);
        foreach (var name in request.Names)
        {
            var found = await images.FindAsync(name, context.CancellationToken);
            // Another team's image is "No such image", as a name that does not exist: the name tells a stranger nothing.
            if (found is null || !ImageTeams.Sees(caller, found.RootDigest))
            {
                response.Results.Add(new RemovedImage { Name = name, Error = $"No such image: {name}" });
                continue;
            }
            // Built by other teams too: this team lets go of it, theirs stays whole.
            if (!caller.IsAdmin && !ImageTeams.Disown(found.RootDigest, caller.Team))
            {
                response.Results.Add(new RemovedImage { Name = name, Untagged = { found.Name } });
                continue;
            }
            // A server keeps no containers: nothing else holds an image whole.
            var result = await removal.RemoveAsync(name, request.Force, (_, _) => Task.FromResult<string?>(null), context.CancellationToken);
            response.Results.Add(new RemovedImage { Name = name, Untagged = { result.Untagged }, Deleted = { result.Deleted }, Error = result.Error ?? "" });
        }
        return response;
    }
}
