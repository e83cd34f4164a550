// Starts Swagger UI on /docs from the app's own files: no inline script, nothing from elsewhere.
(function () {
  "use strict";
  const box = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: box.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
    validatorUrl: null, // the default asks an outside validator for a badge
    persistAuthorization: false,
  });
})();
