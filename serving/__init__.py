"""What the mock and the proxy share as servers, in neither of them (each must not depend on the other)."""
