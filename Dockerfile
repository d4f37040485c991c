# HubStreams server: build with the SDK, run on the ASP.NET runtime as a non-root user, on port 8080.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY server/ server/
COPY wwwroot/ wwwroot/
# The server references the .NET client packages (its demo writes through HubStreams.Client.AI) and serves the
# JavaScript client's source to the page.
COPY clients/dotnet/ clients/dotnet/
COPY clients/js/src/ clients/js/src/
RUN dotnet publish server/HubStreams.Server/HubStreams.Server.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
ENV ASPNETCORE_HTTP_PORTS=8080 \
    ASPNETCORE_ENVIRONMENT=Production
EXPOSE 8080
USER $APP_UID
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://localhost:8080/healthz || exit 1
ENTRYPOINT ["dotnet", "HubStreams.Server.dll"]
