using Microsoft.Extensions.Options;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tokens;

/// <summary>Mints through the upstream client with this broker's session and lifetime settings.</summary>
public sealed class UpstreamSecretMinter(RealtimeUpstreamClient upstream, IOptions<SecretOptions> options) : IClientSecretMinter
{
    public Task<MintedSecret> MintClientSecretAsync(SessionConfiguration session, CancellationToken cancellationToken) =>
        upstream.MintClientSecretAsync(session.ToSessionJson(), options.Value.SecretLifetimeSeconds, cancellationToken);
}
