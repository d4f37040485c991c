using HubStreams.Server.Hosting;
using HubStreams.Streams.Redis;
using Microsoft.Extensions.Configuration;

namespace HubStreams.Tests.Hosting;

/// <summary>REDIS_ADDR as operators write it: host:port, a StackExchange.Redis string, or a redis:// URL; bad ones named, secrets never shown.</summary>
public sealed class RedisAddressTests
{
    private static HubStreamsConfigurationException Refused(string address) => Assert.Throws<HubStreamsConfigurationException>(() =>
        HubStreamsSettings.Read(new ConfigurationBuilder().AddInMemoryCollection([new("REDIS_ADDR", address)]).Build()));

    [Theory]
    [InlineData("localhost:abc")]
    [InlineData("127.0.0.1:6504,password=SECRET,foo=bar")]
    [InlineData("redis://:SECRET@host:notaport")]
    [InlineData("127.0.0.1:99999")]
    [InlineData(",password=SECRET")]
    public void A_bad_address_is_refused_in_one_line_that_names_the_setting_and_hides_the_password(string address)
    {
        var error = Refused(address);
        Assert.StartsWith("Invalid configuration: REDIS_ADDR (HubStreams:RedisAddr)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("redis://cache.internal:6380", "cache.internal:6380", null, null, 0, false)]
    [InlineData("redis://:s3cret@cache.internal:6380/2", "cache.internal:6380", null, "s3cret", 2, false)]
    [InlineData("rediss://app:p%40ss@cache.example.com/5", "cache.example.com:6379", "app", "p@ss", 5, true)]
    [InlineData("cache:6380,password=pw,defaultDatabase=4", "cache:6380", null, "pw", 4, false)]
    public void Urls_and_configuration_strings_are_both_understood(string address, string endpoint, string? user, string? password, int database, bool tls)
    {
        var settings = new RedisConnectionSettings { Address = address };
        var options = settings.ToConfigurationOptions();
        Assert.Equal(endpoint, settings.DescribeEndpoints());
        Assert.Equal(user, options.User);
        Assert.Equal(password, options.Password);
        Assert.Equal(database, settings.EffectiveDatabase);
        Assert.Equal(tls, options.Ssl);
        if (password is not null)
        {
            Assert.DoesNotContain(password, RedisConnectionSettings.HideSecrets(address), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Redis_password_and_database_settings_win_over_the_address()
    {
        var settings = new RedisConnectionSettings { Address = "redis://:frompw@h:1/3", Password = "fromenv", Database = 7 };
        var options = settings.ToConfigurationOptions();
        Assert.Equal("fromenv", options.Password);
        Assert.Equal(7, settings.EffectiveDatabase);
        Assert.Equal(7, options.DefaultDatabase);
    }
}
