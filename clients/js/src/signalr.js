// The SignalR client, whichever way it was loaded: an ES module (a bundler, or a browser import map), or the
// CommonJS build that Node's import gives as a default export.
import * as imported from "@microsoft/signalr";

export const signalR = imported.HubConnectionBuilder ? imported : imported.default;
