%% The OTP supervisor of actor_crash's "sup" variant: one_for_one with one
%% permanent gen_server worker (actor_crash:start_link(Main)). Intensity is
%% raised above the number of crashes the benchmark makes, so that it never
%% gives up. (The supervisor keeps the times of the restarts made in the
%% last Period seconds and walks that list on every restart, so its cost per
%% restart grows with the restart rate.)
-module(actor_crash_sup).
-behaviour(supervisor).
-export([start_link/2, init/1]).

start_link(Main, Crashes) ->
    supervisor:start_link(?MODULE, {Main, Crashes}).

init({Main, Crashes}) ->
    Flags = #{strategy => one_for_one, intensity => Crashes + 10, period => 1},
    Worker = #{id => worker,
               start => {actor_crash, start_link, [Main]},
               restart => permanent,
               shutdown => 1000,
               type => worker,
               modules => [actor_crash]},
    {ok, {Flags, [Worker]}}.
