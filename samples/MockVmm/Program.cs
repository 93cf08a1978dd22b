using MockVmm;

// The main job until the SMMUv3 nested VMM exists: a VMM scenario against the mock driver plugin.
return MockVmmScenario.Run(Console.Out) ? 0 : 1;
