// Starts Swagger UI on the API docs page; kept out of the page so the CSP needs no inline script.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  if (!node || !window.SwaggerUIBundle) return;
  window.SwaggerUIBundle({
    url: node.getAttribute("data-schema-url"),
    domNode: node,
    deepLinking: true,
    persistAuthorization: false,
  });
})();
