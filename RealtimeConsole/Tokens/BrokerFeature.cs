namespace RealtimeConsole.Tokens;

/// <summary>The client-secret broker: upstream client, secret cache, budget, and the browser-facing endpoints.</summary>
public static class BrokerFeature
{
    public static WebApplicationBuilder AddClientSecretBroker(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapClientSecretBroker(this WebApplication app)
    {
        return app;
    }
}
