"""HTTP plumbing only: the app factory, dependencies, problem+json, middleware, health; each flow owns its routes."""
