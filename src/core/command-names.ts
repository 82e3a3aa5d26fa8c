// The command registry announces its names here, so core services (alias reservation) can know them without
// importing the commands (which import core).
let names: string[] = [];
export function setCommandNames(list: string[]): void { names = [...list]; }
export function commandNamesKnown(): string[] { return names; }
