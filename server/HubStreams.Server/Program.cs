using HubStreams.Server.Hosting;

try
{
    // The content root is the build output, where appsettings.json and the page are copied, whatever the working directory.
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.AddHubStreams();
    var app = builder.Build();
    app.MapHubStreams();
    app.Run();
    return 0;
}
catch (HubStreamsConfigurationException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
