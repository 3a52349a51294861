// A page with sharing across tabs: the UMD bundle and its cross-tab add-on.
window.subscribe = window.Subwire.subscribeWith({ tabs: window.SubwireTabs.tabs })
