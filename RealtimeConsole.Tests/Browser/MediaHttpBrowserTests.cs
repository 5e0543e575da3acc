using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Simulator;
using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Tests.Simulator.Conformance;

namespace RealtimeConsole.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class MediaHttpBrowserTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Browser_posts_its_offer_with_an_ephemeral_key_and_responses_share_the_organization_budget()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var mint = new HttpRequestMessage(HttpMethod.Post, "simulator/v1/realtime/client_secrets")
        {
            Content = new StringContent("""{"session":{"type":"realtime","model":"gpt-realtime","output_modalities":["text"],"audio":{"input":{"turn_detection":null}}}}""", Encoding.UTF8, "application/json"),
        };
        mint.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-sim-local");
        using var minted = await http.SendAsync(mint);
        Assert.True(minted.IsSuccessStatusCode, await minted.Content.ReadAsStringAsync());
        var key = JsonNode.Parse(await minted.Content.ReadAsStringAsync())!["value"]!.ToString();
        Assert.StartsWith("ek_", key, StringComparison.Ordinal);

        var limiter = fixture.Server.Services.GetRequiredService<SimulatorRateLimiter>();
        var (page, _) = await fixture.Chromium.OpenPageAsync();
        await page.GotoAsync(new Uri(fixture.Server.BaseAddress, "limits").ToString());
        var call = new MediaBrowserCall(page);
        await call.CreateOfferAsync();
        try
        {
            var (status, location) = await call.PostOfferAndOpenAsync(new Uri(fixture.Server.BaseAddress, "simulator/v1/realtime/calls").ToString(), key);
            Assert.Equal(201, status);
            Assert.StartsWith("/simulator/v1/realtime/calls/rtc_", location, StringComparison.Ordinal);
            Assert.Equal("session.created", (await call.WaitForAsync("session.created", 0))["type"]?.ToString());

            limiter.SetLimit(SimulatorResource.Responses, 1);
            var from = await call.CountAsync();
            await call.SendAsync(new JsonObject { ["type"] = "response.create" });
            await call.WaitForAsync("response.done", from);
            from = await call.CountAsync();
            await call.SendAsync(new JsonObject { ["type"] = "response.create" });
            var error = await call.WaitForAsync("error", from);
            Assert.Equal("rate_limit_exceeded", error["error"]?["code"]?.ToString());
            Assert.Contains("org-sim", error["error"]?["message"]?.ToString(), StringComparison.Ordinal);
            var limits = await call.WaitForAsync("rate_limits.updated", from);
            Assert.Equal(0, limits["rate_limits"]![0]!["remaining"]!.GetValue<int>());

            await call.SendAsync(new JsonObject { ["type"] = "session.update", ["session"] = new JsonObject { ["instructions"] = "still open" } });
            Assert.Equal("still open", (await call.WaitForAsync("session.updated", from))["session"]?["instructions"]?.ToString());

            // Every event the browser received, field by field against the spec's RealtimeServerEvent* schemas.
            Assert.Empty((await call.MessagesAsync(0)).SelectMany(ServerEventSchema.Problems));

            var peer = fixture.Server.Services.GetRequiredService<ISimulatorMediaPeer>();
            Assert.True(await peer.HangUpAsync(location!["/simulator/v1/realtime/calls/".Length..], CancellationToken.None));
        }
        finally
        {
            limiter.RestoreDefaultLimits();
            await page.Context.CloseAsync();
        }
    }
}
