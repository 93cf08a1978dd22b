using SmmuCmd;

return SmmuCmdTool.Run(args, Console.In, Console.Out, Console.Error, Console.OpenStandardInput, Console.OpenStandardOutput);
