"""Pure libraries without models: size planning, pricing arithmetic, image handling and the provider
clients. They import nothing from the apps above them."""
