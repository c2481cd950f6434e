"""Built-in adapters: files, Salesforce, PassFort. Each registers through the ``fieldline``
entry-point group like any third-party plugin."""
