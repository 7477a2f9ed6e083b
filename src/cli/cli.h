/* cli.h - the subcommands of the impactchat program.
 *
 * Each takes the arguments after its own name (argv[0] is the subcommand
 * name), prints errors as one clear sentence on stderr, and returns the
 * process exit code: 0 on success, 1 on failure, 2 on a usage error.
 * Every subcommand answers --help.
 */
#ifndef IC_CLI_CLI_H
#define IC_CLI_CLI_H

int ic_cli_serve(int argc, char **argv);
int ic_cli_migrate(int argc, char **argv);
int ic_cli_workspace(int argc, char **argv);
int ic_cli_user(int argc, char **argv);
int ic_cli_token(int argc, char **argv);
int ic_cli_channel(int argc, char **argv);
int ic_cli_wa_parse(int argc, char **argv);

#endif
