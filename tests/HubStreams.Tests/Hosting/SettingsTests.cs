using HubStreams.Server.Hosting;
using HubStreams.Streams;
using HubStreams.Streams.Memory;
using HubStreams.Streams.Redis;
using HubStreams.Tests.Fixtures;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HubStreams.Tests.Hosting;

public sealed class SettingsTests
{
    private static HubStreamsSettings Read(params (string Key, string Value)[] values) => HubStreamsSettings.Read(
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void Defaults_match_the_design()
    {
        var settings = Read();
        Assert.Equal(StreamStoreType.Memory, settings.StoreType);
        Assert.Equal(TimeSpan.FromHours(1), settings.Streams.Ttl);
        Assert.Equal(100_000, settings.Streams.MaxEvents);
        Assert.Equal(65_536, settings.Streams.MaxEventBytes);
        Assert.Equal("localhost:6379", settings.RedisConnection.Address);
        Assert.Equal("stream:events", settings.Redis.Prefix);
        Assert.Null(settings.RedisConnection.Database);
        Assert.False(settings.RedisConnection.UseTls);
    }

    [Fact]
    public void Every_setting_is_read_from_its_environment_name()
    {
        var settings = Read(
            ("STREAM_MANAGER_TYPE", "Redis"), ("REDIS_ADDR", "cache:6380"), ("REDIS_USERNAME", "app"), ("REDIS_PASSWORD", "pw"),
            ("REDIS_DB", "3"), ("REDIS_PREFIX", "chat:"), ("REDIS_USE_TLS", "true"), ("STREAM_TTL", "90"),
            ("STREAM_MAX_EVENTS", "500"), ("STREAM_MAX_EVENT_BYTES", "4096"), ("STREAM_SAFETY_NET_INTERVAL", "00:00:10"));

        Assert.Equal(StreamStoreType.Redis, settings.StoreType);
        Assert.Equal("cache:6380", settings.RedisConnection.Address);
        Assert.Equal(3, settings.RedisConnection.Database);
        Assert.Equal("chat", settings.Redis.Prefix);
        Assert.Equal("chat:s:m", settings.Redis.StreamKeyFor(StreamKey.Create("s", "m")));
        Assert.Equal(TimeSpan.FromSeconds(90), settings.Streams.Ttl);
        Assert.Equal(500, settings.Streams.MaxEvents);
        Assert.Equal(4096, settings.Streams.MaxEventBytes);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.Redis.SafetyNetInterval);

        var redis = settings.RedisConnection.ToConfigurationOptions();
        Assert.Equal("app", redis.User);
        Assert.Equal("pw", redis.Password);
        Assert.Equal(3, redis.DefaultDatabase);
        Assert.True(redis.Ssl);
        Assert.False(redis.AbortOnConnectFail);
    }

    [Fact]
    public void The_environment_name_wins_over_the_appsettings_section()
    {
        var settings = Read(("HubStreams:StreamTtl", "00:05:00"), ("STREAM_TTL", "00:00:30"), ("HubStreams:RedisPrefix", "from-file"));
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Streams.Ttl);
        Assert.Equal("from-file", settings.Redis.Prefix);
    }

    [Theory]
    [InlineData("STREAM_MANAGER_TYPE", "bogus", "'memory' or 'redis'")]
    [InlineData("REDIS_DB", "abc", "an integer 0 or more")]
    [InlineData("REDIS_DB", "-1", "an integer 0 or more")]
    [InlineData("REDIS_USE_TLS", "maybe", "'true' or 'false'")]
    [InlineData("STREAM_TTL", "an hour", "a duration")]
    [InlineData("STREAM_TTL", "0", "at least 1 ms")]
    [InlineData("STREAM_MAX_EVENTS", "1", "an integer 2 or more")]
    [InlineData("STREAM_MAX_EVENT_BYTES", "12", "an integer 256 or more")]
    [InlineData("REDIS_PREFIX", ":", "a non-empty key prefix")]
    [InlineData("REDIS_PREFIX", "{tagged}", "without { or }")]
    [InlineData("REDIS_WAIT_TIMEOUT", "0", "at least 1 ms")]
    [InlineData("STREAM_MAX_PAGE_BYTES", "1000", "an integer 1024 or more")]
    [InlineData("STREAM_SAFETY_NET_INTERVAL", "00:00:00.500", "at least 1 s")]
    [InlineData("SSE_HEARTBEAT_INTERVAL", "0", "at least 1 s")]
    [InlineData("DEMO_CHUNK_INTERVAL", "-1", "at least 0")]
    [InlineData("AUTH_JWT_CLOCK_SKEW", "600", "from 0 to 00:05:00")]
    [InlineData("LIMIT_APPEND_BURST", "0", "an integer 1 or more")]
    public void A_bad_value_stops_with_the_setting_named(string variable, string value, string accepts)
    {
        var error = Assert.Throws<HubStreamsConfigurationException>(() => Read((variable, value)));
        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(accepts, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Every_bad_value_is_named_at_once_and_a_password_never_shown()
    {
        var error = Assert.Throws<HubStreamsConfigurationException>(() =>
            Read(("STREAM_MANAGER_TYPE", "bogus"), ("REDIS_DB", "abc"), ("REDIS_PASSWORD", "s3cret-pw"), ("REDIS_ADDR", "host:notaport")));
        Assert.Contains("STREAM_MANAGER_TYPE", error.Message, StringComparison.Ordinal);
        Assert.Contains("REDIS_DB", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Endpoint_descriptions_and_redaction_never_show_the_password()
    {
        var connection = Read(("REDIS_ADDR", "cache:6380,password=hunter22,user=app"), ("REDIS_PASSWORD", "hunter2")).RedisConnection;
        Assert.Equal("cache:6380", connection.DescribeEndpoints());
        Assert.Equal("auth failed for *** at cache", connection.Redact("auth failed for hunter2 at cache"));
    }

    [Fact]
    public void Values_that_break_their_rules_are_named_in_the_order_they_are_read_whatever_the_rule()
    {
        var error = Assert.Throws<HubStreamsConfigurationException>(() =>
            Read(("STREAM_MAX_EVENTS", "1"), ("REDIS_DB", "abc"), ("STREAM_TTL", "0"), ("LIMIT_APPENDS_PER_SECOND", "0")));

        List<string> readOrder = ["REDIS_DB", "STREAM_TTL", "STREAM_MAX_EVENTS", "LIMIT_APPENDS_PER_SECOND"];
        var named = readOrder.Select(variable => error.Message.IndexOf(variable + " (", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(-1, named);
        Assert.Equal(named.Order(), named);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(error.Message, "STREAM_TTL \\("));
    }

    [Fact]
    public void Options_take_any_value_and_say_which_break_their_rules_and_a_store_refuses_them()
    {
        var options = new StreamOptions { Ttl = TimeSpan.Zero, MaxEvents = 1, MaxPageEvents = 10 };
        Assert.Equal([nameof(StreamOptions.Ttl), nameof(StreamOptions.MaxEvents)], options.Problems().Select(p => p.Property));

        var refused = Assert.Throws<ArgumentException>(() => new MemoryStreamManager(options, TestMetrics.Create()));
        Assert.Equal("Invalid StreamOptions: Ttl must be at least 1 ms; MaxEvents must be at least 2. (Parameter 'StreamOptions')", refused.Message);

        var redis = new RedisStreamOptions { Prefix = "a{b}", SafetyNetInterval = TimeSpan.FromSeconds(5) };
        Assert.Equal([nameof(RedisStreamOptions.Prefix)], redis.Problems().Select(p => p.Property));
        Assert.Empty(new StreamOptions().Problems());
        Assert.Empty(new RedisStreamOptions().Problems());
    }

    [Fact]
    public void Settings_changed_by_code_after_they_are_read_are_checked_by_the_same_rules()
    {
        var settings = Read();
        settings.Streams.MaxPageEvents = 0;
        settings.ServerSentEvents.WriteTimeout = TimeSpan.Zero;

        var error = Assert.Throws<HubStreamsConfigurationException>(() => new ServiceCollection().AddHubStreams(settings));
        Assert.Equal(
            "Invalid configuration: StreamOptions.MaxPageEvents must be at least 1. ServerSentEventsOptions.WriteTimeout must be at least 1 s.",
            error.Message);
    }
}
