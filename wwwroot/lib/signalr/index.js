// The SignalR browser client as an ES module, for the page's import map: the vendored build sets `self.signalR`.
import "./signalr.min.js";

const signalR = globalThis.signalR;
export default signalR;
export const { HubConnectionBuilder, HubConnectionState, HttpTransportType, LogLevel } = signalR;
